/** The sim hosts' domains as libvirt would report them, and the sim's libvirt errors. */
import { LibvirtError, VIR_FROM, type JobStats } from '../libvirt/binding';
import type { MigrationJob } from './migration-job';

/** A guest as a benchmark or test puts it on a host: defined, persistent and running. */
export interface SimGuest {
  uuid: string;
  name: string;
  memoryMiB: number;
  vcpus: number;
}

/** A domain on one sim host, as libvirt would report it. */
export interface SimDomain extends SimGuest {
  /** A DOMAIN_STATE value, and the reason for it (libvirt's virDomain<State>Reason). */
  state: number;
  reason: number;
  persistent: boolean;
  xml: string;
  /** The outgoing migration job, while one runs. */
  job: MigrationJob | null;
  /** The stats of the incoming migration that completed here (JOB_STATS.COMPLETED). */
  completedJob: JobStats | null;
  /** The max downtime the next or running migration may take. */
  maxDowntimeMs: number;
}

/** virDomainRunningReason, virDomainPausedReason and virDomainShutoffReason values used here. */
export const REASON = {
  RUNNING_BOOTED: 1,
  RUNNING_MIGRATED: 2,
  RUNNING_UNPAUSED: 5,
  PAUSED_USER: 1,
  PAUSED_MIGRATION: 2,
  PAUSED_POSTCOPY: 12,
  SHUTOFF_UNKNOWN: 0,
  SHUTOFF_SHUTDOWN: 1,
  SHUTOFF_DESTROYED: 2,
  SHUTOFF_CRASHED: 3,
  SHUTOFF_MIGRATED: 4,
} as const;

export function simError(code: number, message: string): LibvirtError {
  return new LibvirtError(message, code, VIR_FROM.QEMU);
}

/** A domain's XML as libvirt writes it: no disks (boot from volume), no host devices. */
export function guestXml(guest: SimGuest): string {
  return [
    "<domain type='kvm'>",
    `  <name>${guest.name}</name>`,
    `  <uuid>${guest.uuid}</uuid>`,
    `  <memory unit='KiB'>${guest.memoryMiB * 1024}</memory>`,
    `  <vcpu placement='static'>${guest.vcpus}</vcpu>`,
    "  <os><type arch='x86_64' machine='pc'>hvm</type></os>",
    '  <devices>',
    '    <emulator>/usr/bin/qemu-system-x86_64</emulator>',
    '  </devices>',
    '</domain>',
  ].join('\n');
}

/** A persistent domain with no job, in the given state. */
export function newDomain(guest: SimGuest, xml: string, state: number, reason: number): SimDomain {
  return {
    ...guest,
    state,
    reason,
    persistent: true,
    xml,
    job: null,
    completedJob: null,
    // QEMU's default downtime limit.
    maxDowntimeMs: 300,
  };
}
