/**
 * The contract of the resize workflow (cold migration is a resize to the same flavor): its input
 * and state, and the activities it calls beside the shared ones (operation-types.ts), the control
 * worker's and a host agent's. Pure declarations, safe for workflow code.
 */
import type { InstanceDisk, InstanceSize, OperationState, PeerHost } from './operation-types';

/**
 * Nova's migration statuses of a resize or cold migration, in lifecycle order, and `queued`:
 * waiting for a slot under max_concurrent_migrations before the guest is powered off.
 */
export type ResizeStatus =
  | 'pre-migrating'
  | 'queued'
  | 'migrating'
  | 'post-migrating'
  | 'finished'
  | 'confirming'
  | 'confirmed'
  | 'reverting'
  | 'reverted'
  | 'error';

/** Nova's task_state values of a resize, in order. */
export type ResizeTaskState =
  | 'resize_prep'
  | 'resize_migrating'
  | 'resize_migrated'
  | 'resize_finish'
  | 'resize_confirming'
  | 'resize_reverting';

export interface ResizeInput {
  migrationUuid: string;
  instanceUuid: string;
  instanceName: string;
  /** `migration` for a cold migration (same flavor), `resize` for a flavor change. */
  migrationType: 'migration' | 'resize';
  sourceHost: string;
  requestedHost: string | null;
  oldFlavorId: string;
  newFlavorId: string;
  newSize: InstanceSize;
  oldSize: InstanceSize;
  allowSameHost: boolean;
  /** Confirmed as soon as the instance is on its destination, with no wait (a drain's cold move). */
  confirmAtOnce?: boolean;
  /** Nova's shutdown_timeout: how long a graceful shutdown may take before the destroy. */
  shutdownTimeoutSeconds: number;
  requestedBy: string;
  /**
   * The caller's resize_confirm_window and scheduler_max_attempts, present only in histories
   * recorded before the workflow asked the control plane (docs/host-agent.md, "Policy").
   */
  confirmWindowSeconds?: number;
  schedulerMaxAttempts?: number;
}

/** A resize's input with the policy it runs under, as the workflow's steps use it. */
export type ResizePlan = ResizeInput & {
  confirmWindowSeconds: number;
  schedulerMaxAttempts: number;
};

/** The live status a resize workflow answers to its `status` query. */
export interface ResizeState extends OperationState<ResizeStatus> {
  operation: 'migration' | 'resize';
  /** Bytes copied of all disks, and their total (null before the copy). */
  copiedBytes: number | null;
  totalBytes: number | null;
  /** ISO time the window closes and the resize confirms itself; null when it waits forever. */
  confirmDeadline: string | null;
  /** How the wait ended: by a user, or automatically when the window passed. */
  confirmedBy: 'user' | 'auto-confirm' | null;
}

/** What the source learned while powering the instance off and setting its disks aside. */
export interface ResizeSourceSnapshot {
  /** The domain's persistent XML, as it was before the resize (restored by a revert). */
  domainXml: string;
  /** The disks, at their usual paths (where the destination copies them to). */
  disks: InstanceDisk[];
  /** Where the disks now are on the source (Nova's `<instance dir>_resize`); null if not moved. */
  asideDir: string | null;
  powerOff: 'graceful' | 'destroyed' | 'already-off';
  /** Whether the instance was running before (a revert or finish starts it only then). */
  wasRunning: boolean;
}

/** A host agent's resize activities (power off, disks, domain definition). */
export interface ResizeHostActivities {
  /**
   * Source: graceful shutdown with a timeout, then destroy; the domain stays defined (shut off);
   * with `setAside` the disks are moved aside (not for a resize on the same host, which keeps
   * them in place). Idempotent (a retry finds them aside).
   */
  powerOffAndSetAsideSource(request: {
    instanceUuid: string;
    shutdownTimeoutSeconds: number;
    setAside: boolean;
  }): Promise<ResizeSourceSnapshot>;

  /**
   * Source: copies one disk (from its aside path) to `destHost` over SSH with copyDisk: sparse,
   * checksum-verified, heartbeating its offset; a retry resumes from the last heartbeat's offset.
   * `dest` is how to reach it (sshd, pinned host key, instances dir), from the control plane;
   * a request without it (a resize started before the workflow asked for it) is refused.
   */
  copyDiskToHost(request: {
    instanceUuid: string;
    disk: InstanceDisk;
    asideDir: string;
    destHost: string;
    dest?: PeerHost;
  }): Promise<{ bytesSent: number; digest: string }>;

  /**
   * Destination: writes a storage probe file into its instances dir and returns its name; the
   * source looks for it (hasStorageProbe) to tell whether the two share the instances dir.
   */
  createStorageProbe(request: Record<string, never>): Promise<{ storageProbe: string }>;

  /**
   * Source, on shared storage: copies one disk from its aside path to its own path inside the
   * instances dir the destination shares (no network); the aside copy stays for a revert.
   * Heartbeats while it copies; a retry copies again.
   */
  copyDiskInSharedStorage(request: {
    instanceUuid: string;
    disk: InstanceDisk;
    asideDir: string;
  }): Promise<{ bytesCopied: number }>;

  /**
   * Destination (the source itself for a same-host resize): grows the root disk to `rootDiskGiB` when it is bigger (never shrinks), defines
   * the domain from `domainXml` with the new vCPUs and memory (UUID, MACs, devices kept), starts
   * it when `start`. Idempotent. Returns the definition it defined, which ferry records.
   */
  finishResizeAtDestination(request: {
    instanceUuid: string;
    domainXml: string;
    disks: InstanceDisk[];
    size: InstanceSize;
    start: boolean;
  }): Promise<{ domainXml: string }>;

  /** Destination (revert or rollback): destroy and undefine the domain, delete `disks`. Idempotent. */
  removeResizedInstance(request: { instanceUuid: string; disks: InstanceDisk[] }): Promise<void>;

  /**
   * Source (confirm): undefine the old domain (if not running here) and delete the aside dir and
   * the old domain's log files, except with `sharedStorage`, where those are the destination's.
   */
  confirmResizeAtSource(request: {
    instanceUuid: string;
    asideDir: string | null;
    sharedStorage?: boolean;
  }): Promise<void>;

  /**
   * Source (revert or rollback): move the disks back from the aside dir, define `domainXml`
   * again and start the domain when `start`. Idempotent.
   */
  restoreSource(request: {
    instanceUuid: string;
    domainXml: string;
    asideDir: string | null;
    disks: InstanceDisk[];
    start: boolean;
  }): Promise<void>;
}

/** The control activities only a resize calls. */
export interface ResizeControlActivities {
  /**
   * Compare-and-set of task_state null → resize_prep for an instance that is active (running or
   * stopped), not locked, on `sourceHost`; opens the InstanceAction (`resize` or `migrate`). Same
   * errors and idempotency as beginInstanceOperation.
   */
  beginResize(request: { migrationUuid: string; requestedBy: string }): Promise<void>;

  /** Migration status, the instance's task_state, and the destination when given, together. */
  setResizeProgress(update: {
    migrationUuid: string;
    status: ResizeStatus;
    taskState: ResizeTaskState | null;
    destHost?: string;
  }): Promise<void>;

  /**
   * The instance runs (or is stopped, as before) on the destination with the new flavor: host and
   * flavor switched, vm_state resized, task_state null, status finished, confirmDeadline saved.
   * The destination claim is dropped (the instance itself counts there now) and the old flavor
   * is claimed on the source instead, held for a revert until confirm (not for a same-host resize).
   */
  finishResize(request: {
    migrationUuid: string;
    destHost: string;
    confirmDeadline: string | null;
    /** The destination's definition, recorded as the instance's (absent in older histories). */
    domainXml?: string;
  }): Promise<void>;

  /** Confirmed: status confirmed, vm_state active, task_state null, every claim released. */
  confirmResize(request: { migrationUuid: string; auto: boolean }): Promise<void>;

  /**
   * Reverted: host and flavor back to the source and old flavor, status reverted, vm_state active
   * (stopped if it was), task_state null, every claim released.
   */
  revertResize(request: { migrationUuid: string; domainXml?: string }): Promise<void>;

  /**
   * Failed before finished, or a confirm/revert that failed: like failMigration (status error,
   * task_state null, claims released; `instanceError` sets vm_state error), with host and flavor
   * left as given.
   */
  failResize(request: {
    migrationUuid: string;
    error: string;
    instanceError: boolean;
  }): Promise<void>;
}
