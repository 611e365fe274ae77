/**
 * The destination's pre-check: this host can run the instance the source described, and has no
 * domain of its name or UUID. Ends by writing the storage probe (storage-probe.ts).
 */
import { freemem } from 'node:os';
import type { DestinationCheck, SourceFacts } from '../../../workflows/live-migration-contract';
import type { HostAgentContext } from '../index';
import { InstancePathError, confineInstancePath } from '../../../virt/instance-paths';
import { CPU_COMPARE, isLibvirtError } from '../../../virt/libvirt/binding';
import type { HypervisorConnection as Connection } from '../../../virt/driver';
import { findDomain, findDomainByName } from '../../../virt/libvirt/domain-lookup';
import { missingTlsFiles } from '../../../config/migration-tls';
import { migrationFailure } from './failures';
import { writeStorageProbe } from './storage-probe';

type DestinationContext = Pick<
  HostAgentContext,
  'hostName' | 'hypervisor' | 'libvirtUri' | 'instancesDir'
>;

export interface DestinationCheckRequest {
  instanceUuid: string;
  instanceName: string;
  source: SourceFacts;
}

/** libvirt's version number (major × 10⁶ + minor × 10³ + release) as people write it. */
function versionText(version: number): string {
  return [Math.floor(version / 1e6), Math.floor(version / 1e3) % 1e3, version % 1e3].join('.');
}

async function checkHypervisor(
  context: DestinationContext,
  conn: Connection,
  source: SourceFacts,
): Promise<void> {
  const [type, version] = await Promise.all([conn.getType(), conn.getVersion()]);
  if (type !== source.hypervisorType) {
    throw migrationFailure(
      'InvalidHypervisorType',
      `${context.hostName}'s hypervisor is ${type}, the source's is ${source.hypervisorType}`,
    );
  }
  if (version < source.hypervisorVersion) {
    throw migrationFailure(
      'DestinationHypervisorTooOld',
      `${context.hostName}'s hypervisor ${type} ${versionText(version)} is older than the ` +
        `source's ${versionText(source.hypervisorVersion)}`,
    );
  }
}

/**
 * Whether this host's hypervisor can give the guest its CPU. compareHypervisorCPU, not
 * compareCPU: the guest CPU is what QEMU provides here, not the host CPU (on the lab compareCPU
 * calls even a running guest's own qemu64 CPU incompatible with its host). Asked of the domain's
 * own QEMU binary and virtualization type, which the destination uses too, not of libvirt's
 * defaults: those are KVM wherever /dev/kvm exists, and on such a machine the lab's TCG guests'
 * qemu64 CPU compares as incompatible even with the host it runs on.
 */
async function checkCpu(
  context: DestinationContext,
  conn: Connection,
  source: SourceFacts,
): Promise<void> {
  if (source.guestCpuXml === null) return;
  let result: number;
  try {
    result = await conn.compareHypervisorCPU(source.guestCpuXml, {
      arch: source.arch,
      ...(source.emulator && { emulator: source.emulator }),
      ...(source.virtType && { virttype: source.virtType }),
    });
  } catch (error) {
    if (!isLibvirtError(error)) throw error;
    throw migrationFailure(
      'InvalidCPUInfo',
      `${context.hostName} cannot provide the guest CPU: ${error.message}`,
    );
  }
  if (result === CPU_COMPARE.INCOMPATIBLE) {
    throw migrationFailure(
      'InvalidCPUInfo',
      `${context.hostName}'s hypervisor cannot provide the guest CPU ${source.guestCpuXml}`,
    );
  }
}

/** Free memory as the kernel reckons it (MemAvailable), like Nova reading /proc/meminfo. */
function checkMemory(context: DestinationContext, source: SourceFacts): void {
  const freeMiB = Math.floor(freemem() / 1024 ** 2);
  if (freeMiB < source.memoryMiB) {
    throw migrationFailure(
      'MigrationPreCheckError',
      `${context.hostName} has ${freeMiB} MiB of free memory, the instance needs ${source.memoryMiB} MiB`,
    );
  }
}

async function checkNoDomain(
  context: DestinationContext,
  conn: Connection,
  request: DestinationCheckRequest,
): Promise<void> {
  const found = (
    await Promise.all([
      findDomainByName(conn, request.instanceName),
      findDomain(conn, request.instanceUuid),
    ])
  ).filter((domain) => domain !== null);
  if (found.length === 0) return;
  const names = [...new Set(found.map((d) => `${d.getName()} (UUID ${d.getUUIDString()})`))];
  await Promise.all(found.map((domain) => domain.close()));
  throw migrationFailure(
    'MigrationPreCheckError',
    `${context.hostName} already has a domain named or identified like instance ` +
      `${request.instanceName} (${request.instanceUuid}): ${names.join(', ')}`,
  );
}

/** A source migrating with TLS needs QEMU's server credentials here: never a clear fallback. */
function checkTlsCredentials(context: DestinationContext, source: SourceFacts): void {
  if (!source.nativeTls) return;
  const missing = missingTlsFiles('destination');
  if (missing.length === 0) return;
  throw migrationFailure(
    'MigrationPreCheckError',
    `the source migrates with TLS (live_migration_with_native_tls) but ${context.hostName} has ` +
      `no TLS certificates for migration (missing ${missing.join(', ')})`,
  );
}

function checkDiskPaths(context: DestinationContext, source: SourceFacts): void {
  for (const disk of source.disks) {
    try {
      confineInstancePath(context.instancesDir, disk.path);
    } catch (error) {
      if (!(error instanceof InstancePathError)) throw error;
      throw migrationFailure(
        'MigrationPreCheckError',
        `disk ${disk.target} (${disk.path}) would be outside ${context.hostName}'s instances ` +
          `dir ${context.instancesDir}`,
      );
    }
  }
}

export function checkDestination(
  context: DestinationContext,
  request: DestinationCheckRequest,
): Promise<DestinationCheck> {
  return context.hypervisor.withConnection(context.libvirtUri, async (conn) => {
    checkTlsCredentials(context, request.source);
    await checkHypervisor(context, conn, request.source);
    await checkCpu(context, conn, request.source);
    checkMemory(context, request.source);
    await checkNoDomain(context, conn, request);
    checkDiskPaths(context, request.source);
    return { storageProbe: await writeStorageProbe(context.instancesDir, context.hostName) };
  });
}
