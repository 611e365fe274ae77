/**
 * The contract between the migration workflows, the activities they call and the clients that
 * start them. Pure declarations: importing this module has no side effects, so workflow code may
 * use it.
 */

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
}

/** Where a host's libvirt has the instance's domain. */
export type DomainPresence = 'running' | 'paused' | 'shutoff' | 'absent';

export interface InstanceLocation {
  presence: DomainPresence;
  /** True while a migration job of the domain runs on this host. */
  migrating: boolean;
}

/** The live status a liveMigration workflow answers to its `status` query. */
export interface LiveMigrationState {
  migrationUuid: string;
  instanceUuid: string;
  instanceName: string;
  operation: 'live-migration';
  status: LiveMigrationStatus;
  /** The step now running (Nova's words: scheduling, pre-check, queued, preparing, migrating, ...). */
  step: string;
  sourceHost: string;
  destHost: string | null;
  blockMigration: boolean | null;
  progress: MigrationProgress | null;
  error: string | null;
  /** Destinations tried and why each was refused. */
  refusedHosts: { host: string; reason: string }[];
}

/**
 * Error types of non-retryable ApplicationFailures, named as Nova names them, so a caller can act
 * on them (REFERENCE.md lists Nova's pre-check errors).
 */
export const MIGRATION_ERRORS = [
  'InstanceNotFound',
  'InstanceInvalidState',
  'InstanceLocked',
  'UnableToMigrateToSelf',
  'NoValidHost',
  'ComputeServiceUnavailable',
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

/** The workflow id of every operation of one instance: the UI groups them, and two cannot run. */
export function instanceWorkflowId(instanceUuid: string): string {
  return `instance-${instanceUuid}`;
}

/** The signal a host agent's migration monitor sends its workflow with the job's counters. */
export const MIGRATION_PROGRESS_SIGNAL = 'migrationProgress';
