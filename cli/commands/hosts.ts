import { openDatabase, type Database } from '../../db/database';
import type { Host } from '../../db/models';
import type { FerryConfig } from '../../config';
import { RequestError } from '../../client/request-error';
import { parseOptions } from '../parse-options';
import { runRefreshHosts } from '../../client/refresh-hosts';
import { UsageError } from '../usage-error';
import { formatTable } from '../table';

const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

function hostView(host: Host) {
  return {
    name: host.name,
    state: host.state,
    disabledReason: host.disabledReason,
    libvirtUri: host.libvirtUri,
    sshAddress: host.sshAddress,
    sshPort: host.sshPort,
    instancesDir: host.instancesDir,
    arch: host.arch,
    hypervisorType: host.hypervisorType,
    hypervisorVersion: host.hypervisorVersion,
    cpuModel: host.cpuModel,
    vcpus: host.vcpusTotal,
    memoryMiB: host.memoryMiBTotal,
    lastHeartbeatAt: host.lastHeartbeatAt?.toISOString() ?? null,
  };
}

async function addHost(config: FerryConfig, args: string[]): Promise<string> {
  const { values, positionals } = parseOptions({
    args,
    allowPositionals: true,
    options: {
      'libvirt-uri': { type: 'string' },
      'ssh-address': { type: 'string' },
      'ssh-port': { type: 'string', default: '22' },
      'ssh-host-key': { type: 'string' },
      'instances-dir': { type: 'string', default: '/var/lib/ferry/instances' },
      json: { type: 'boolean', default: false },
    },
  });
  const [name, ...extra] = positionals;
  if (!name || extra.length > 0)
    throw new UsageError('usage: ferry hosts add NAME --libvirt-uri URI');
  if (!HOST_NAME.test(name)) {
    throw new UsageError(`host name "${name}": letters, digits, '.', '_' and '-' only, at most 63`);
  }
  const libvirtUri = values['libvirt-uri'];
  if (!libvirtUri || !/^[a-z0-9+]+:\/\//.test(libvirtUri)) {
    throw new UsageError(
      '--libvirt-uri: a libvirt URI such as qemu+tcp://ADDRESS/system is required',
    );
  }
  const sshPort = Number(values['ssh-port']);
  if (!Number.isInteger(sshPort) || sshPort < 1 || sshPort > 65535) {
    throw new UsageError(`--ssh-port: "${values['ssh-port']}" is not a port`);
  }
  const hostKey = values['ssh-host-key'];
  if (
    hostKey !== undefined &&
    !/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/=]+/.test(hostKey)
  ) {
    throw new UsageError(
      '--ssh-host-key: expected an OpenSSH public key line ("ssh-ed25519 AAAA...")',
    );
  }
  const instancesDir = values['instances-dir'] as string;
  if (!instancesDir.startsWith('/'))
    throw new UsageError('--instances-dir: must be an absolute path');
  const db = await openDatabase(config.databaseUrl);
  try {
    if (await db.host.findUnique({ where: { name } })) {
      throw new UsageError(`host "${name}" is already registered`);
    }
    const host = await db.host.create({
      data: {
        name,
        libvirtUri,
        sshAddress: values['ssh-address'] ?? null,
        sshPort,
        sshHostKey: hostKey ?? null,
        instancesDir,
      },
    });
    return values.json ? JSON.stringify(hostView(host)) : `host ${name} added`;
  } finally {
    await db.$disconnect();
  }
}

async function listHosts(config: FerryConfig, args: string[]): Promise<string> {
  const { values } = parseOptions({ args, options: { json: { type: 'boolean', default: false } } });
  const db = await openDatabase(config.databaseUrl);
  try {
    const hosts = (await db.host.findMany({ orderBy: { name: 'asc' } })).map(hostView);
    if (values.json) return JSON.stringify(hosts);
    return formatTable(hosts, [
      { header: 'NAME', value: (h) => h.name },
      { header: 'STATE', value: (h) => h.state },
      { header: 'ARCH', value: (h) => h.arch },
      { header: 'HYPERVISOR', value: (h) => h.hypervisorType },
      { header: 'VERSION', value: (h) => h.hypervisorVersion },
      { header: 'CPU MODEL', value: (h) => h.cpuModel },
      { header: 'VCPUS', value: (h) => h.vcpus },
      { header: 'MEMORY MIB', value: (h) => h.memoryMiB },
      { header: 'LIBVIRT URI', value: (h) => h.libvirtUri },
      { header: 'DISABLED REASON', value: (h) => h.disabledReason },
    ]);
  } finally {
    await db.$disconnect();
  }
}

async function refreshAllHosts(config: FerryConfig, args: string[]): Promise<string> {
  const { values } = parseOptions({ args, options: { json: { type: 'boolean', default: false } } });
  const result = await runRefreshHosts(config);
  if (values.json) return JSON.stringify(result);
  const lines = result.refreshed.map(
    (h) =>
      `${h.host}: ${h.arch} ${h.hypervisorType} ${h.hypervisorVersion}, ${h.cpuModel}, ${h.vcpus} vCPUs, ${h.memoryMiB} MiB`,
  );
  lines.push(...result.failed.map((f) => `${f.host}: FAILED ${f.error}`));
  return lines.join('\n') || 'no hosts registered';
}

/** A registered host, or ComputeHostNotFound (404). */
async function registeredHost(db: Database, name: string): Promise<Host> {
  const host = await db.host.findUnique({ where: { name } });
  if (!host) {
    throw new RequestError('ComputeHostNotFound', 404, `compute host ${name} could not be found`);
  }
  return host;
}

/**
 * `hosts disable NAME [--reason TEXT]`: state disabled, so the scheduler places nothing new there;
 * what runs there keeps running. Disabling a disabled host updates its reason.
 */
async function disableHost(config: FerryConfig, args: string[]): Promise<string> {
  const { values, positionals } = parseOptions({
    args,
    allowPositionals: true,
    options: { reason: { type: 'string' } },
  });
  if (positionals.length !== 1) {
    throw new UsageError('usage: ferry hosts disable NAME [--reason TEXT]');
  }
  const db = await openDatabase(config.databaseUrl);
  try {
    const host = await registeredHost(db, positionals[0]);
    const reason = values.reason?.trim() || null;
    await db.host.update({
      where: { name: host.name },
      data: { state: 'disabled', disabledReason: reason },
    });
    return `host ${host.name} disabled${reason === null ? '' : ` (${reason})`}`;
  } finally {
    await db.$disconnect();
  }
}

/** `hosts enable NAME`: a disabled host back up, its reason cleared; a host up stays as it is. */
async function enableHost(config: FerryConfig, args: string[]): Promise<string> {
  const { positionals } = parseOptions({ args, allowPositionals: true, options: {} });
  if (positionals.length !== 1) throw new UsageError('usage: ferry hosts enable NAME');
  const db = await openDatabase(config.databaseUrl);
  try {
    const host = await registeredHost(db, positionals[0]);
    if (host.state === 'up') return `host ${host.name} is already enabled`;
    if (host.state !== 'disabled') {
      throw new RequestError(
        'InvalidInput',
        400,
        `host ${host.name} is ${host.state}, not disabled: enabling it would not bring it up`,
      );
    }
    await db.host.update({
      where: { name: host.name },
      data: { state: 'up', disabledReason: null },
    });
    return `host ${host.name} enabled`;
  } finally {
    await db.$disconnect();
  }
}

export async function hostsCommand(config: FerryConfig, args: string[]): Promise<string> {
  const [sub, ...rest] = args;
  if (sub === 'add') return addHost(config, rest);
  if (sub === 'list') return listHosts(config, rest);
  if (sub === 'refresh') return refreshAllHosts(config, rest);
  if (sub === 'disable') return disableHost(config, rest);
  if (sub === 'enable') return enableHost(config, rest);
  if (sub === 'drain') return (await import('./drains.js')).drainCommand(config, rest);
  if (sub === 'undrain') return (await import('./drains.js')).undrainCommand(config, rest);
  throw new UsageError('usage: ferry hosts add|list|refresh|disable|enable|drain|undrain');
}
