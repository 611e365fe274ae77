/**
 * The contract of the hostDrain workflow (docs/drain.md): its input and state, and the control
 * activities it calls. Pure declarations, safe for workflow code.
 */
import type { LiveMigrationInput } from './live-migration-contract';
import type { ResizeInput } from './resize-contract';

/** The workflow id of a host's drain (and return): one at a time per host. */
export function drainWorkflowId(host: string): string {
  return `drain-${host}`;
}

/** `drain` empties a host; `return` (undrain --return) moves a drain's instances back. */
export type DrainKind = 'drain' | 'return';

export type DrainStatus = 'running' | 'completed' | 'incomplete' | 'aborted';

/** live: running, live-migrated; cold: stopped, cold-migrated; none: left where it is. */
export type DrainAction = 'live' | 'cold' | 'none';

export type DrainItemState = 'planned' | 'queued' | 'moving' | 'moved' | 'failed' | 'left';

/** One instance of a drain: what the plan decided and how its move went. */
export interface DrainItem {
  instanceUuid: string;
  instanceName: string;
  action: DrainAction;
  state: DrainItemState;
  /** Why it is left or failed (or, while it waits for a retry, why the last attempt failed). */
  reason: string | null;
  /** Moves started for it (each its own Migration). */
  attempts: number;
  /** Where it went (moved) or goes (moving); for a dry run, where the scheduler would put it. */
  destHost: string | null;
  /** The host it must go to (a return move), or null for the scheduler's choice. */
  requestedHost: string | null;
  lastMigrationUuid: string | null;
}

export interface DrainInput {
  drainUuid: string;
  host: string;
  kind: DrainKind;
  /** At most this many moves at once; null takes max_concurrent_live_migrations. */
  concurrency: number | null;
  /** Moves per instance at most, when the failures are retryable. */
  attempts: number;
  /** ISO time after which no move starts; null: none. */
  deadline: string | null;
  /** Instance names or UUIDs left where they are. */
  exclude: string[];
  requestedBy: string;
  /** The state of the run before, when this run is its continuation (continue-as-new). */
  carried?: DrainCarried;
  /** The first retry's wait in seconds, each next one twice as long; absent: 10. */
  retryDelaySeconds?: number;
  /** History events after which the run continues as new; absent: DRAIN_HISTORY_LIMIT. */
  historyLimit?: number;
}

/** What a drain hands its next run. */
export interface DrainCarried {
  concurrency: number;
  items: DrainItem[];
  runs: number;
}

/** The live status a drain answers to its `status` query. */
export interface DrainState {
  drainUuid: string;
  host: string;
  kind: DrainKind;
  status: DrainStatus;
  concurrency: number;
  attempts: number;
  deadline: string | null;
  /** True once an abort was asked for. */
  aborting: boolean;
  items: DrainItem[];
  /** How many runs this drain took (continue-as-new). */
  runs: number;
}

/** Continue-as-new well before Temporal's 10,240-event warning, in-flight moves included. */
export const DRAIN_HISTORY_LIMIT = 4000;

/** The child workflow a move runs, with its input; or why the instance cannot move now. */
export type DrainMove =
  | { workflowType: 'liveMigration'; migrationUuid: string; input: LiveMigrationInput }
  | { workflowType: 'resize'; migrationUuid: string; input: ResizeInput }
  | { refused: string };

/** The control activities a drain calls. */
export interface DrainControlActivities {
  /** The dry run's plan, with the destination the scheduler would pick now; changes nothing. */
  planHostDrain(request: { host: string; exclude: string[] }): Promise<DrainItem[]>;

  /**
   * Disables the host (reason `draining`) for a drain, or enables it for a return; records the
   * Drain row and its plan (idempotent: a retry returns the plan recorded). Returns the plan and
   * the concurrency (the one asked for, else max_concurrent_live_migrations).
   */
  beginDrain(request: {
    drainUuid: string;
    host: string;
    kind: DrainKind;
    concurrency: number | null;
    attempts: number;
    deadline: string | null;
    exclude: string[];
    workflowId: string;
    requestedBy: string;
  }): Promise<{ concurrency: number; items: DrainItem[] }>;

  /**
   * Checks the instance again (it may have changed since the plan) and records the Migration of
   * the item's `attempt`th move with the item; returns the child workflow to start, or why it
   * cannot move now. Idempotent per attempt: a retry returns the Migration recorded.
   */
  startDrainMove(request: {
    drainUuid: string;
    instanceUuid: string;
    attempt: number;
    action: 'live' | 'cold';
    requestedHost: string | null;
  }): Promise<DrainMove>;

  /** Deletes a move's Migration whose workflow never started (the instance had another). */
  discardDrainMove(request: { migrationUuid: string }): Promise<void>;

  /** Saves items' state, reason, attempts and destination. */
  recordDrainItems(request: { drainUuid: string; items: DrainItem[] }): Promise<void>;

  /** The drain's end: status and finishedAt (a return also marks its drain returned). */
  finishDrain(request: { drainUuid: string; status: DrainStatus }): Promise<void>;
}
