/**
 * What the live migration and the resize (cold migration) workflows share: the instance and its
 * disks, Nova's error types, the workflow id, and the control activities both call. Pure
 * declarations, safe for workflow code.
 */
import type { EvacuationStatus } from './evacuate-contract';
import type { LiveMigrationStatus } from './live-migration-contract';
import type { ResizeStatus } from './resize-contract';

/** Nova's Migration row statuses, of a live migration or of a resize (cold migration). */
export type OperationStatus = LiveMigrationStatus | ResizeStatus | EvacuationStatus;

/** Nova's migration statuses after which nothing changes any more (live migration and resize). */
export const FINISHED_MIGRATION_STATUSES: string[] = [
  'completed',
  'failed',
  'cancelled',
  'error',
  'confirmed',
  'reverted',
  'done',
];

/** The live status an operation's workflow answers to its `status` query, common part. */
export interface OperationState<Status extends OperationStatus> {
  migrationUuid: string;
  instanceUuid: string;
  instanceName: string;
  status: Status;
  /** The step now running (Nova's event or task state names). */
  step: string;
  sourceHost: string;
  destHost: string | null;
  error: string | null;
  /** Destinations tried and why each was refused. */
  refusedHosts: { host: string; reason: string }[];
}

/** The flavor-derived size of an instance, as claims and pre-checks need it. */
export interface InstanceSize {
  vcpus: number;
  memoryMiB: number;
  rootDiskGiB: number;
}

/** The instance as the workflow sees it once its operation has begun. */
export interface InstanceSnapshot {
  uuid: string;
  name: string;
  hostName: string;
  flavorId: string;
  size: InstanceSize;
}

/** A disk of the instance, as the source's domain definition has it. */
export interface InstanceDisk {
  /** The guest's device name (vda, ...). */
  target: string;
  /** Absolute path on the source host, inside its instances dir. */
  path: string;
  /** qcow2, raw, ... */
  format: string;
  virtualSizeBytes: number;
}

/**
 * Error types of non-retryable ApplicationFailures, named as Nova names them, so a caller can act
 * on them (docs/live-migration.md, "Pre-checks", says which check raises which).
 */
export const MIGRATION_ERRORS = [
  'InstanceNotFound',
  'InstanceInvalidState',
  'InstanceLocked',
  'UnableToMigrateToSelf',
  'NoValidHost',
  'ComputeServiceUnavailable',
  'ComputeServiceInUse',
  'InvalidHypervisorType',
  'DestinationHypervisorTooOld',
  'InvalidCPUInfo',
  'InvalidLocalStorage',
  'InvalidSharedStorage',
  'MigrationPreCheckError',
  'MigrationError',
  'MigrationTimeout',
  'MigrationStalled',
] as const;

export type MigrationErrorType = (typeof MIGRATION_ERRORS)[number];

/** The workflow id of every operation of one instance: the UI groups them, and two cannot run. */
export function instanceWorkflowId(instanceUuid: string): string {
  return `instance-${instanceUuid}`;
}

/** An InstanceActionEvent step: recorded at its start, then finished with its result. */
export interface ActionEventRecord {
  migrationUuid: string;
  /** Nova's event names: compute_live_migration, compute_check_can_live_migrate_destination, ... */
  event: string;
  phase: 'start' | 'finish';
  result?: 'Success' | 'Error';
  details?: string;
}

/** The control activities (database, scheduler, claims) both operations call. */
/** What the scheduler is asked: for which migration, the host the caller named if any, which not. */
export interface DestinationRequest {
  migrationUuid: string;
  requestedHost: string | null;
  exclude: string[];
  allowSameHost?: boolean;
}

export interface OperationControlActivities {
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
   * not begin because another one holds the instance). Then records `events`, in order, as
   * recordActionEvents does: a step's finish and the next one's start ride with the transition
   * between them instead of taking local activities of their own.
   */
  setMigrationStatus(update: {
    migrationUuid: string;
    status: LiveMigrationStatus;
    destHost?: string;
    error?: string;
    events?: ActionEventRecord[];
  }): Promise<void>;

  recordActionEvent(record: ActionEventRecord): Promise<void>;

  /** Records each event in order, as recordActionEvent does (a step's finish, the next's start). */
  recordActionEvents(records: ActionEventRecord[]): Promise<void>;

  /**
   * Filters and weighs the Host rows against the instance's size and the current claims; returns
   * the candidates best first, never an excluded host, and never the source unless
   * `allowSameHost` (a resize with Nova's allow_resize_to_same_host; the instance's own usage
   * there is not counted against its new size). With `requestedHost`, checks only that host and
   * fails with UnableToMigrateToSelf, ComputeServiceUnavailable or NoValidHost (naming the
   * reason). Fails with NoValidHost when no host is left.
   */
  selectDestinations(
    request: DestinationRequest & {
      /** Recorded once it has answered: the scheduling step's start and the finish before it. */
      events?: ActionEventRecord[];
    },
  ): Promise<string[]>;

  /**
   * Claims the instance's vCPUs, memory and disk on `host` for this migration, atomically against
   * the host's capacity and other claims. Idempotent. Fails with MigrationPreCheckError when the
   * host cannot hold the instance. Once it holds, `events` (the check's start) are recorded.
   */
  claimResources(request: {
    migrationUuid: string;
    host: string;
    events?: ActionEventRecord[];
  }): Promise<void>;

  /** Releases this migration's claims (on `host` only, when given). Idempotent. */
  releaseClaims(request: { migrationUuid: string; host?: string }): Promise<void>;

  /**
   * Moves a queued migration to its first moving status (live migration: preparing; resize or
   * cold migration: migrating) when the fleet has a slot under the control workers'
   * max_concurrent_migrations, a live migration's source one under `limit` (default: the control
   * workers' max_concurrent_live_migrations), and it is the oldest waiting that fits. Returns
   * whether it did; true again for a migration already moving. With the slot, `events` (the next
   * step's start) are recorded.
   */
  acquireMigrationSlot(request: {
    migrationUuid: string;
    limit?: number;
    events?: ActionEventRecord[];
  }): Promise<boolean>;

  /**
   * The Host row as peers reach the host (libvirt URI, sshd, pinned key, instances dir), for the
   * host activities that work with it. Fails with NoValidHost when it is not registered.
   */
  describeHost(request: { host: string }): Promise<PeerHost>;

  /** The control worker's policy (its configuration), which the workflows read at their start. */
  describePolicy(): Promise<OperationPolicy>;
}

/**
 * The control plane's policy: the control worker's configuration, which every workflow reads at
 * its start whoever started it (docs/host-agent.md, "Policy").
 */
export interface OperationPolicy {
  /** resize_confirm_window: seconds until a resize confirms itself; 0 waits forever. */
  resizeConfirmWindowSeconds: number;
  /** max_concurrent_live_migrations: outgoing live migrations per source host at once. */
  maxConcurrentLiveMigrations: number;
  /** scheduler_max_attempts: destinations tried before NoValidHost. */
  schedulerMaxAttempts: number;
}

/**
 * A host as its peers reach it, from its Host row: what a host activity needs to know of another
 * host, handed to it by the workflow since agents never read the database.
 */
export interface PeerHost {
  name: string;
  /** Its libvirt URI as peers reach it (peer-to-peer live migration). */
  libvirtUri: string;
  /** Its sshd (resize disk copies), with the only host key it may present. */
  sshAddress: string | null;
  sshPort: number;
  /** "ssh-ed25519 AAAA...", or null when none is registered (ferry then copies nothing there). */
  sshHostKey: string | null;
  instancesDir: string;
}
