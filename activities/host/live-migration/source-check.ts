/** The source's pre-check: the instance's domain runs here and can be live-migrated. */
import type { InstanceDisk } from '../../../workflows/operation-types';
import type { SourceFacts } from '../../../workflows/live-migration-contract';
import type { HostAgentContext } from '../index';
import { dirname } from 'node:path';
import { InstancePathError, confineInstancePath, isInside } from '../../../virt/instance-paths';
import { DOMAIN_STATE, hypervisorInfo } from '../../../virt/libvirt/binding';
import type { HypervisorDomain as Domain } from '../../../virt/driver';
import { qemuImgInfo } from '../../../virt/qemu-img';
import { currentJob, findDomain, jobActive } from '../../../virt/libvirt/domain-lookup';
import { parseDomainXml, type DomainDisk } from '../../../virt/libvirt/live-migration-xml';
import { missingTlsFiles } from '../../../config/migration-tls';
import { migrationFailure } from './failures';

type SourceContext = Pick<
  HostAgentContext,
  'hostName' | 'hypervisor' | 'libvirtUri' | 'instancesDir' | 'liveMigration'
>;

const STATE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(DOMAIN_STATE).map(([name, value]) => [value, name.toLowerCase()]),
);

/** A file-backed disk inside the instances dir, with qemu-img's virtual size. */
async function instanceDisk(
  context: SourceContext,
  disk: DomainDisk & { path: string },
): Promise<InstanceDisk> {
  try {
    confineInstancePath(context.instancesDir, disk.path);
  } catch (error) {
    if (!(error instanceof InstancePathError)) throw error;
    throw migrationFailure(
      'MigrationPreCheckError',
      `disk ${disk.target} (${disk.path}) is outside ${context.hostName}'s instances dir ` +
        `${context.instancesDir}: ferry migrates only disks it keeps there`,
    );
  }
  const info = await qemuImgInfo(disk.path);
  return {
    target: disk.target,
    path: disk.path,
    format: disk.format ?? info.format,
    virtualSizeBytes: info.virtualSize,
  };
}

async function sourceFacts(
  context: SourceContext,
  domain: Domain,
  subject: string,
): Promise<Omit<SourceFacts, 'hypervisorType' | 'hypervisorVersion' | 'arch'>> {
  // Independent reads, asked together: one round trip to libvirtd instead of four.
  const [{ state }, description, job, info] = await Promise.all([
    domain.getState(),
    domain.getXMLDesc(),
    currentJob(domain),
    domain.getInfo(),
  ]);
  if (state !== DOMAIN_STATE.RUNNING) {
    throw migrationFailure(
      'InstanceInvalidState',
      `${subject} is ${STATE_NAMES[state] ?? `in state ${state}`}, not running`,
    );
  }
  const xml = parseDomainXml(description);
  if (xml.passthrough.length > 0) {
    throw migrationFailure(
      'MigrationPreCheckError',
      `${subject} has passthrough devices (${xml.passthrough.join(', ')}), ` +
        'which cannot be live-migrated',
    );
  }
  if (jobActive(job)) {
    throw migrationFailure(
      'MigrationPreCheckError',
      `${subject} is already migrating: a libvirt job of its domain is running`,
    );
  }
  const unsupported = xml.disks.find((disk) => disk.type !== 'file');
  if (unsupported) {
    throw migrationFailure(
      'MigrationPreCheckError',
      `${subject}'s disk ${unsupported.target} is a ${unsupported.type} disk: ` +
        'ferry live-migrates file-backed disks only',
    );
  }
  const files = xml.disks.filter((disk): disk is DomainDisk & { path: string } => !!disk.path);
  const paths = [...files.map((disk) => disk.path), ...xml.consoleFiles];
  const directories = paths
    .map((path) => dirname(path))
    .filter((dir) => isInside(context.instancesDir, dir));
  return {
    guestCpuXml: xml.cpuXml,
    emulator: xml.emulator,
    virtType: xml.virtType,
    disks: await Promise.all(files.map((disk) => instanceDisk(context, disk))),
    directories: [...new Set(directories)],
    consoleFiles: xml.consoleFiles.filter((path) => isInside(context.instancesDir, dirname(path))),
    memoryMiB: info.maxMem / 1024,
  };
}

/** With TLS required, this host must hold QEMU's client credentials: never a clear fallback. */
function checkTlsCredentials(context: SourceContext): void {
  if (!context.liveMigration.withNativeTls) return;
  const missing = missingTlsFiles('source');
  if (missing.length === 0) return;
  throw migrationFailure(
    'MigrationPreCheckError',
    `live_migration_with_native_tls is on but ${context.hostName} has no TLS certificates for ` +
      `migration (missing ${missing.join(', ')})`,
  );
}

export async function checkSource(
  context: SourceContext,
  request: { instanceUuid: string },
): Promise<SourceFacts> {
  checkTlsCredentials(context);
  return await context.hypervisor.withConnection(context.libvirtUri, async (conn) => {
    const domain = await findDomain(conn, request.instanceUuid);
    if (!domain) {
      throw migrationFailure(
        'InstanceNotFound',
        `instance ${request.instanceUuid} has no domain on ${context.hostName}`,
      );
    }
    try {
      const subject = `instance ${request.instanceUuid} (domain ${domain.getName()} on ${context.hostName})`;
      const [facts, hypervisor] = await Promise.all([
        sourceFacts(context, domain, subject),
        hypervisorInfo(conn),
      ]);
      return {
        ...facts,
        nativeTls: context.liveMigration.withNativeTls,
        hypervisorType: hypervisor.hypervisorType,
        hypervisorVersion: hypervisor.hypervisorVersion,
        arch: hypervisor.arch,
      };
    } finally {
      await domain.close();
    }
  });
}
