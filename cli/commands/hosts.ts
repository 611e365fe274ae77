import { openDatabase, type Database } from '../../db/database';
import type { Host } from '../../db/models';
import type { FerryConfig } from '../../config';
import { parseCommand, usageError } from '../command-spec';
import { groupUsageError } from '../command-list';
import { runRefreshHosts } from '../../client/refresh-hosts';
import { UsageError } from '../usage-error';
import {
  HOSTS_ADD,
  HOSTS_DISABLE,
  HOSTS_ENABLE,
  HOSTS_FORCE_DOWN,
  HOSTS_FORCE_UP,
  HOSTS_LIST,
  HOSTS_REFRESH,
} from './hosts-spec';
import { changeHostService } from '../../client/host-service';
import { hostLiveness } from '../../db/host-liveness';
import { formatTable } from '../table';

const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

function hostView(host: Host, config: Pick<FerryConfig, 'serviceDownTimeSeconds'>) {
  return {
    name: host.name,
    state: host.state,
    disabledReason: host.disabledReason,
    liveness: hostLiveness(host, new Date(), config.serviceDownTimeSeconds),
    forcedDown: host.forcedDown,
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
  const { values, positionals } = parseCommand(HOSTS_ADD, args);
  const [name, ...extra] = positionals;
  if (!name || extra.length > 0) throw usageError(HOSTS_ADD);
  if (!HOST_NAME.test(name)) {
    throw new UsageError(`host name "${name}": letters, digits, '.', '_' and '-' only, at most 63`);
  }
  const libvirtUri = values['libvirt-uri'];
  if (!libvirtUri || !/^[a-z0-9+]+:\/\//.test(libvirtUri)) {
    throw new UsageError(
      '--libvirt-uri: a libvirt URI such as qemu+tls://ADDRESS/system is required',
    );
  }
  if (libvirtUri.startsWith('qemu+tcp://') && !values['allow-insecure-tcp']) {
    throw new UsageError(
      `--libvirt-uri ${libvirtUri}: qemu+tcp:// has no encryption and, with auth_tcp = "none", ` +
        'no authentication: anyone on the network could drive the host. Use qemu+tls:// ' +
        '(certificates: docs/live-migration.md) or qemu+ssh://, or --allow-insecure-tcp in a lab',
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
    return values.json ? JSON.stringify(hostView(host, config)) : `host ${name} added`;
  } finally {
    await db.$disconnect();
  }
}

async function listHosts(config: FerryConfig, args: string[]): Promise<string> {
  const { values } = parseCommand(HOSTS_LIST, args);
  const db = await openDatabase(config.databaseUrl);
  try {
    const hosts = (await db.host.findMany({ orderBy: { name: 'asc' } })).map((host) =>
      hostView(host, config),
    );
    if (values.json) return JSON.stringify(hosts);
    return formatTable(hosts, [
      { header: 'NAME', value: (h) => h.name },
      { header: 'STATE', value: (h) => h.state },
      { header: 'LIVENESS', value: (h) => (h.forcedDown ? 'down (forced)' : h.liveness) },
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
  const { values } = parseCommand(HOSTS_REFRESH, args);
  const result = await runRefreshHosts(config);
  if (values.json) return JSON.stringify(result);
  const lines = result.refreshed.map(
    (h) =>
      `${h.host}: ${h.arch} ${h.hypervisorType} ${h.hypervisorVersion}, ${h.cpuModel}, ${h.vcpus} vCPUs, ${h.memoryMiB} MiB`,
  );
  lines.push(...result.failed.map((f) => `${f.host}: FAILED ${f.error}`));
  return lines.join('\n') || 'no hosts registered';
}

/** `hosts disable NAME [--reason TEXT]`: nothing new is placed there; what runs there keeps running. */
async function disableHost(config: FerryConfig, args: string[]): Promise<string> {
  const { values, positionals } = parseCommand(HOSTS_DISABLE, args);
  if (positionals.length !== 1) throw usageError(HOSTS_DISABLE);
  const { host } = await withDatabase(config, (db) =>
    changeHostService(db, positionals[0], {
      status: 'disabled',
      disabledReason: values.reason ?? null,
    }),
  );
  return `host ${host.name} disabled${host.disabledReason === null ? '' : ` (${host.disabledReason})`}`;
}

/** `hosts enable NAME`: a disabled host enabled again, its reason cleared. */
async function enableHost(config: FerryConfig, args: string[]): Promise<string> {
  const { positionals } = parseCommand(HOSTS_ENABLE, args);
  if (positionals.length !== 1) throw usageError(HOSTS_ENABLE);
  const { host, changed } = await withDatabase(config, (db) =>
    changeHostService(db, positionals[0], { status: 'enabled' }),
  );
  return changed ? `host ${host.name} enabled` : `host ${host.name} is already enabled`;
}

/**
 * `hosts force-down NAME` / `hosts force-up NAME`: the operator's word that the host is down (after
 * fencing it) or that the forcing is over; its heartbeat decides again once forced up.
 */
async function forceHost(config: FerryConfig, args: string[], down: boolean): Promise<string> {
  const spec = down ? HOSTS_FORCE_DOWN : HOSTS_FORCE_UP;
  const { positionals } = parseCommand(spec, args);
  if (positionals.length !== 1) throw usageError(spec);
  const { host } = await withDatabase(config, (db) =>
    changeHostService(db, positionals[0], { forcedDown: down }),
  );
  return down
    ? `host ${host.name} forced down: it counts as down whatever its agent answers`
    : `host ${host.name} no longer forced down: its heartbeat decides whether it is up`;
}

async function withDatabase<T>(config: FerryConfig, work: (db: Database) => Promise<T>) {
  const db = await openDatabase(config.databaseUrl);
  try {
    return await work(db);
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
  if (sub === 'force-down') return forceHost(config, rest, true);
  if (sub === 'force-up') return forceHost(config, rest, false);
  if (sub === 'drain') return (await import('./drains.js')).drainCommand(config, rest);
  if (sub === 'undrain') return (await import('./drains.js')).undrainCommand(config, rest);
  if (sub === 'evacuate') {
    return (await import('./evacuate.js')).hostsEvacuateCommand(config, rest);
  }
  throw groupUsageError('hosts');
}
