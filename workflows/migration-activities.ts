/**
 * The activities the migration workflows call, as interfaces: the control worker's (database,
 * scheduler) and a host agent's (libvirt, disks). The implementations in activities/ satisfy them.
 * Every failure a caller can act on is a non-retryable ApplicationFailure whose type is one of
 * MIGRATION_ERRORS.
 */
import type {
  DestinationCheck,
  InstanceDisk,
  InstanceLocation,
  InstanceSnapshot,
  LiveMigrationStatus,
  MigrationProgress,
  MigrationResult,
  OperationPolicy,
  PeerHost,
  SourceFacts,
} from './migration-types';

/** An InstanceActionEvent step: recorded at its start, then finished with its result. */
export interface ActionEventRecord {
  migrationUuid: string;
  /** Nova's event names: compute_live_migration, compute_check_can_live_migrate_destination, ... */
  event: string;
  phase: 'start' | 'finish';
  result?: 'Success' | 'Error';
  details?: string;
}

export interface MigrationControlActivities {
  /**
   * Compare-and-set of the instance's task_state from null to `taskState` (only when vm_state is
   * active, power_state running, not locked, and the instance is on `sourceHost`); opens the
   * InstanceAction. Idempotent for the same migration. Fails with InstanceNotFound,
   * InstanceInvalidState or InstanceLocked.
   */
  beginInstanceOperation(request: {
    migrationUuid: string;
    taskState: string;
    action: string;
    requestedBy: string;
  }): Promise<InstanceSnapshot>;

  /**
   * Sets the Migration row's status (and destination and error, when given). With a terminal
   * status it also sets finishedAt; it never touches the instance (used when the operation could
   * not begin because another one holds the instance).
   */
  setMigrationStatus(update: {
    migrationUuid: string;
    status: LiveMigrationStatus;
    destHost?: string;
    error?: string;
  }): Promise<void>;

  recordActionEvent(record: ActionEventRecord): Promise<void>;

  /**
   * The Host row as peers reach the host (libvirt URI, sshd, pinned key, instances dir), for the
   * host activities that work with it. Fails with NoValidHost when it is not registered.
   */
  describeHost(request: { host: string }): Promise<PeerHost>;

  /** The control worker's policy (its configuration), which the workflows read at their start. */
  describePolicy(): Promise<OperationPolicy>;

  /**
   * Records a running live migration's latest progress (byte counters, instance progress) while
   * its status is running; returns whether it did. Never touches a migration that has ended.
   */
  saveMigrationProgress(request: {
    migrationUuid: string;
    progress: MigrationProgress;
  }): Promise<boolean>;

  /**
   * Filters and weighs the Host rows against the instance's size and the current claims; returns
   * the candidates best first, never an excluded host, and never the source unless
   * `allowSameHost` (a resize with Nova's allow_resize_to_same_host; the instance's own usage
   * there is not counted against its new size). With `requestedHost`, checks only that host and
   * fails with UnableToMigrateToSelf, ComputeServiceUnavailable or NoValidHost (naming the
   * reason). Fails with NoValidHost when no host is left.
   */
  selectDestinations(request: {
    migrationUuid: string;
    requestedHost: string | null;
    exclude: string[];
    allowSameHost?: boolean;
  }): Promise<string[]>;

  /**
   * Claims the instance's vCPUs, memory and disk on `host` for this migration, atomically against
   * the host's capacity and other claims. Idempotent. Fails with MigrationPreCheckError when the
   * host cannot hold the instance.
   */
  claimResources(request: { migrationUuid: string; host: string }): Promise<void>;

  /** Releases this migration's claims (on `host` only, when given). Idempotent. */
  releaseClaims(request: { migrationUuid: string; host?: string }): Promise<void>;

  /**
   * Moves the migration from queued to preparing when fewer than `limit` outgoing migrations of
   * its source host are preparing or running and it is the oldest waiting. Returns whether it did.
   */
  acquireMigrationSlot(request: { migrationUuid: string; limit: number }): Promise<boolean>;

  /**
   * The migration completed: instance host = destination, task_state null, progress 100, claims
   * released, status completed, the action finished.
   */
  completeLiveMigration(request: {
    migrationUuid: string;
    destHost: string;
    result: MigrationResult;
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
