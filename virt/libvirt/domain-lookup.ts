/** Finding an instance's domain on a host, and reading what state it and its job are in. */
import type { DomainPresence } from '../../workflows/live-migration-contract';
import { DOMAIN_STATE, JOB_TYPE, VIR_ERR, isLibvirtError, type JobStats } from './binding';
import type { HypervisorConnection as Connection, HypervisorDomain as Domain } from '../driver';

/** virDomainPausedReason values the live migration tells apart (libvirt-domain.h). */
export const PAUSED_REASON = { USER: 1, POSTCOPY: 12, POSTCOPY_FAILED: 13 } as const;

/** virDomainRunningReason values of a post-copy's destination (libvirt-domain.h). */
export const RUNNING_REASON = { POSTCOPY: 10, POSTCOPY_FAILED: 11 } as const;

/**
 * Whether the domain is in a post-copy migration, running or failed: on either host it then holds
 * part of the guest that the other has not.
 */
export function inPostCopy({ state, reason }: { state: number; reason: number }): boolean {
  if (state === DOMAIN_STATE.RUNNING) {
    return reason === RUNNING_REASON.POSTCOPY || reason === RUNNING_REASON.POSTCOPY_FAILED;
  }
  if (state === DOMAIN_STATE.PAUSED) {
    return reason === PAUSED_REASON.POSTCOPY || reason === PAUSED_REASON.POSTCOPY_FAILED;
  }
  return false;
}

async function absentAsNull(lookup: Promise<Domain>): Promise<Domain | null> {
  try {
    return await lookup;
  } catch (error) {
    if (isLibvirtError(error, VIR_ERR.NO_DOMAIN)) return null;
    throw error;
  }
}

/** The domain with this UUID, or null when this host has none. */
export function findDomain(conn: Connection, uuid: string): Promise<Domain | null> {
  return absentAsNull(conn.lookupByUUIDString(uuid));
}

/** The domain with this name, or null when this host has none. */
export function findDomainByName(conn: Connection, name: string): Promise<Domain | null> {
  return absentAsNull(conn.lookupByName(name));
}

export function presenceOf(state: number): Exclude<DomainPresence, 'absent'> {
  switch (state) {
    case DOMAIN_STATE.RUNNING:
    case DOMAIN_STATE.BLOCKED:
    case DOMAIN_STATE.SHUTDOWN:
      return 'running';
    case DOMAIN_STATE.PAUSED:
    case DOMAIN_STATE.PMSUSPENDED:
      return 'paused';
    default:
      return 'shutoff';
  }
}

/** virDomainJobOperation of an outgoing migration (the job stats' `operation` field). */
const JOB_OPERATION_MIGRATION_OUT = 5;

/** Whether the stats (of currentJob) show a job running. */
export function jobActive<T extends Pick<JobStats, 'type'>>(stats: T | null): stats is T {
  return stats !== null && (stats.type === JOB_TYPE.BOUNDED || stats.type === JOB_TYPE.UNBOUNDED);
}

/** Whether the stats show an outgoing migration running (any job, where libvirt names none). */
export function migrationJobActive(stats: Pick<JobStats, 'type' | 'raw'> | null): boolean {
  const operation = stats?.raw.operation;
  return jobActive(stats) && (operation === undefined || operation === JOB_OPERATION_MIGRATION_OUT);
}

/**
 * The domain's job stats; null when no job can run: the domain has gone (a migration with
 * UNDEFINE_SOURCE ended) or is not running (libvirt: "domain is not running").
 */
export async function currentJob(domain: Domain): Promise<JobStats | null> {
  try {
    return await domain.getJobStats();
  } catch (error) {
    if (isLibvirtError(error, VIR_ERR.NO_DOMAIN)) return null;
    if (isLibvirtError(error, VIR_ERR.OPERATION_INVALID)) return null;
    throw error;
  }
}

/** Whether the domain runs (or is paused) now; false when it has gone meanwhile. */
export async function isActive(domain: Domain): Promise<boolean> {
  try {
    return await domain.isActive();
  } catch (error) {
    if (isLibvirtError(error, VIR_ERR.NO_DOMAIN)) return false;
    throw error;
  }
}

/**
 * Whether a migration job of the domain runs here: an outgoing one shows in its job stats; for an
 * incoming one libvirt refuses the stats ("available only on the source host").
 */
export async function migrationRunning(domain: Domain): Promise<boolean> {
  try {
    return migrationJobActive(await currentJob(domain));
  } catch (error) {
    if (isLibvirtError(error, VIR_ERR.OPERATION_UNSUPPORTED)) return true;
    throw error;
  }
}
