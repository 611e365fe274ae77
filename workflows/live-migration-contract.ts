/**
 * The contract of the live migration workflow: its input and state, and the activities it calls
 * beside the shared ones (operation-types.ts), the control worker's and a host agent's. Every
 * failure a caller can act on is a non-retryable ApplicationFailure whose type is one of
 * MIGRATION_ERRORS. Pure declarations: importing this module has no side effects, so workflow
 * code may use it.
 */
import type {
  ActionEventRecord,
  InstanceDisk,
  MigrationErrorType,
  OperationPolicy,
  OperationState,
  PeerHost,
} from './operation-types';

/** Nova's `block_migration`: `auto` decides by whether the instances dir is shared storage. */
export type BlockMigration = 'auto' | boolean;

/** Nova's migration statuses of a live migration, in lifecycle order. */
export type LiveMigrationStatus =
  'accepted' | 'queued' | 'preparing' | 'running' | 'completed' | 'failed' | 'cancelled' | 'error';

/** What the start helper hands the liveMigration workflow. Nothing secret, nothing host-local. */
export interface LiveMigrationInput {
  migrationUuid: string;
  instanceUuid: string;
  instanceName: string;
  /** The host the instance runs on when the request was accepted. */
  sourceHost: string;
  /** The destination the caller named, or null for the scheduler's choice. */
  requestedHost: string | null;
  blockMigration: BlockMigration;
  /** Who asked (an API token's role and name, or `cli`), for the instance action. */
  requestedBy: string;
  /**
   * The caller's max_concurrent_live_migrations, present only in histories recorded before the
   * workflow asked the control plane (docs/host-agent.md, "Policy").
   */
  maxConcurrentPerSource?: number;
  /** The caller's scheduler_max_attempts, likewise only in those histories. */
  schedulerMaxAttempts?: number;
}

/** A live migration's input with the policy it runs under, as the workflow's steps use it. */
export type LiveMigrationPlan = LiveMigrationInput & {
  maxConcurrentPerSource: number;
  schedulerMaxAttempts: number;
};

/** Memory and disk counters of a migration job, in bytes. */
export interface MigrationProgress {
  memoryTotalBytes: number;
  memoryProcessedBytes: number;
  memoryRemainingBytes: number;
  diskTotalBytes: number;
  diskProcessedBytes: number;
  diskRemainingBytes: number;
  /** Nova's instance progress: 100 − remaining % of all data. */
  percent: number;
  /** True once the job switched to post-copy. */
  postCopy: boolean;
}

/** What the source's pre-check learned, which the destination's pre-check needs. */
export interface SourceFacts {
  /** The guest CPU definition (`<cpu>` element) or null when the domain names none. */
  guestCpuXml: string | null;
  /**
   * The QEMU binary the domain runs and its virtualization type (kvm, or qemu for TCG), which the
   * destination's libvirt uses too: the destination compares the guest CPU against what they
   * provide. Absent in pre-checks recorded before they were added, null when the XML names none.
   */
  emulator?: string | null;
  virtType?: string | null;
  disks: InstanceDisk[];
  /**
   * Directories inside the instances dir holding the domain's files (disks, serial console log),
   * which must exist on the destination before the guest arrives.
   */
  directories: string[];
  /** Serial and console log files of the domain inside the instances dir. */
  consoleFiles: string[];
  memoryMiB: number;
  /**
   * Whether the source migrates with QEMU's native TLS, so the destination needs certificates.
   * Absent in pre-checks recorded before it was added: those migrate in clear.
   */
  nativeTls?: boolean;
  hypervisorType: string;
  hypervisorVersion: number;
  arch: string;
}

/** The outcome of the destination's pre-check. */
export interface DestinationCheck {
  /** Name of a probe file the destination wrote into its instances dir (shared storage test). */
  storageProbe: string;
}

/** How libvirt's migration job ended, from its completed stats. */
export interface MigrationResult {
  /** True when a retried activity found the migration already done or attached to its job. */
  attached: boolean;
  elapsedMs: number | null;
  downtimeMs: number | null;
  progress: MigrationProgress;
  /** How completion was forced, if it was. */
  forced: 'post-copy' | 'paused' | null;
  /**
   * The destination's persistent definition of the domain once it runs there, which ferry records
   * for an evacuation (docs/evacuate.md); absent from results recorded before, or when unreadable.
   */
  domainXml?: string;
}

/** Where a host's libvirt has the instance's domain. */
export type DomainPresence = 'running' | 'paused' | 'shutoff' | 'absent';

export interface InstanceLocation {
  presence: DomainPresence;
  /** True while a migration job of the domain runs on this host. */
  migrating: boolean;
}

/** The live status a liveMigration workflow answers to its `status` query. */
export interface LiveMigrationState extends OperationState<LiveMigrationStatus> {
  operation: 'live-migration';
  blockMigration: boolean | null;
  progress: MigrationProgress | null;
}

/** Pre-check failures that make the scheduler try the next alternate destination. */
export const DESTINATION_REFUSALS: readonly MigrationErrorType[] = [
  'ComputeServiceUnavailable',
  'InvalidHypervisorType',
  'DestinationHypervisorTooOld',
  'InvalidCPUInfo',
  'InvalidLocalStorage',
  'InvalidSharedStorage',
  'MigrationPreCheckError',
];

/** The signal a host agent's migration monitor sends its workflow with the job's counters. */
export const MIGRATION_PROGRESS_SIGNAL = 'migrationProgress';

/** The control activities only a live migration calls. */
export interface LiveMigrationControlActivities {
  /**
   * beginInstanceOperation for a live migration (task_state migrating), then `events` recorded;
   * returns the control worker's policy the migration runs under.
   */
  beginLiveMigration(request: {
    migrationUuid: string;
    requestedBy: string;
    events?: ActionEventRecord[];
  }): Promise<OperationPolicy>;

  /**
   * Status queued for `destHost` with `events` recorded, then acquireMigrationSlot with
   * `eventsOnSlot`; returns whether the migration has its slot.
   */
  queueMigration(request: {
    migrationUuid: string;
    destHost: string;
    limit: number;
    events?: ActionEventRecord[];
    eventsOnSlot?: ActionEventRecord[];
  }): Promise<boolean>;

  /**
   * Status running with `events` recorded; returns the destination as its peers reach it
   * (describeHost). Fails with NoValidHost when it is no longer registered.
   */
  startLiveMigration(request: {
    migrationUuid: string;
    destHost: string;
    events?: ActionEventRecord[];
  }): Promise<PeerHost>;

  /**
   * Records a running live migration's latest progress (byte counters, instance progress) while
   * its status is running; returns whether it did. Never touches a migration that has ended.
   */
  saveMigrationProgress(request: {
    migrationUuid: string;
    progress: MigrationProgress;
  }): Promise<boolean>;

  /**
   * The migration completed: instance host = destination, task_state null, progress 100, claims
   * released, status completed, the action finished; `events` (the last step's finish) recorded
   * first, as recordActionEvents does.
   */
  completeLiveMigration(request: {
    migrationUuid: string;
    destHost: string;
    result: MigrationResult;
    events?: ActionEventRecord[];
  }): Promise<void>;

  /**
   * The migration ended without moving the instance: task_state null, claims released, status
   * failed | cancelled | error with the reason; `instanceError` also sets vm_state error (a
   * compensation failed, so the instance needs an operator).
   */
  failMigration(request: {
    migrationUuid: string;
    status: 'failed' | 'cancelled' | 'error';
    error: string;
    instanceError: boolean;
  }): Promise<void>;
}

/** A host agent's live migration activities (libvirt, disks). */
export interface LiveMigrationHostActivities {
  /**
   * Source pre-check: the domain exists and runs, has no passthrough devices and no job running.
   * Fails with InstanceNotFound, InstanceInvalidState or MigrationPreCheckError.
   */
  checkCanLiveMigrateSource(request: { instanceUuid: string }): Promise<SourceFacts>;

  /**
   * Destination pre-check: hypervisor type and version, CPU compatible with the guest's, free
   * memory, no domain of that name or UUID; writes a storage probe file into the instances dir.
   * Fails with InvalidHypervisorType, DestinationHypervisorTooOld, InvalidCPUInfo or
   * MigrationPreCheckError.
   */
  checkCanLiveMigrateDestination(request: {
    instanceUuid: string;
    instanceName: string;
    source: SourceFacts;
  }): Promise<DestinationCheck>;

  /** Whether a probe file another host wrote is visible here (shared instances dir). */
  hasStorageProbe(request: { storageProbe: string }): Promise<boolean>;

  /** Removes a probe file this host wrote. Idempotent. */
  removeStorageProbe(request: { storageProbe: string }): Promise<void>;

  /**
   * Destination: makes the instance dir and, for block migration, pre-creates each disk with the
   * source's format and virtual size. Returns the paths it created (for the rollback). Idempotent.
   */
  prepareLiveMigrationDestination(request: {
    instanceUuid: string;
    directories: string[];
    disks: InstanceDisk[];
    blockMigration: boolean;
  }): Promise<{ created: string[] }>;

  /**
   * Source: runs the peer-to-peer migration to `destHost` and monitors it (heartbeats, progress,
   * downtime steps, completion timeout, stall). A retry attaches to a job still running or
   * recognises one that completed. Cancellation aborts the libvirt job. Fails with MigrationError,
   * MigrationTimeout or MigrationStalled.
   */
  liveMigrate(request: {
    migrationUuid: string;
    instanceUuid: string;
    destHost: string;
    /** The destination's libvirt URI as its peers reach it. */
    destLibvirtUri: string;
    blockMigration: boolean;
    disks: InstanceDisk[];
  }): Promise<MigrationResult>;

  /** Source: post-copy when permitted, else pause the guest so the job converges. */
  forceCompleteLiveMigration(request: {
    instanceUuid: string;
  }): Promise<'post-copy' | 'paused' | 'no-job'>;

  /** Where this host's libvirt has the instance, and whether a migration job of it runs here. */
  locateInstance(request: { instanceUuid: string }): Promise<InstanceLocation>;

  /** Aborts the instance's migration job here if one runs. Returns whether one did. */
  abortLiveMigration(request: { instanceUuid: string }): Promise<boolean>;

  /** Resumes the instance's domain here if it is paused. Returns whether it was. */
  resumeInstance(request: { instanceUuid: string }): Promise<boolean>;

  /**
   * Destination rollback: destroys and undefines the instance's domain here and deletes `created`.
   * Idempotent. The workflow calls it only when the source still holds the instance.
   */
  rollbackLiveMigrationAtDestination(request: {
    instanceUuid: string;
    created: string[];
  }): Promise<void>;

  /**
   * Source clean-up after a completed migration off storage the destination does not share:
   * deletes the instance's disks and console logs here, then the directories they leave empty
   * (never while a domain of the instance is still defined here). Idempotent.
   */
  cleanupLiveMigrationSource(request: {
    instanceUuid: string;
    disks: InstanceDisk[];
    consoleFiles: string[];
    sharedStorage: boolean;
  }): Promise<void>;
}
