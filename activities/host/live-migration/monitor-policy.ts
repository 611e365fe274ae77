/**
 * What the live-migration monitor decides at each poll, as pure functions of the settings, the
 * amount of data to move, the job's counters and the time elapsed: nothing here reads a clock or
 * talks to libvirt. The rules are Nova's (nova/virt/libvirt/migration.py and driver.py):
 *
 * - data = guest memory + each block-migrated disk, each counted as at least 2 GiB;
 * - max downtime steps: base = D / S, offset = (D − base) / S, step i (0..S) is max downtime
 *   trunc(base + offset × i) ms once the job has run longer than trunc(delay × data) × i seconds;
 * - completion timeout: trunc(timeout × data) seconds, then abort or force completion (never
 *   during post-copy; forcing waits until the job moves data, as neither post-copy nor a pause
 *   can hurry a job still setting up);
 * - stall: data remaining has not dropped below its lowest value for the progress timeout
 *   (never during post-copy);
 * - post-copy stall (ferry's own): a post-copy with data left whose data processed has not grown
 *   for the post-copy stall timeout has lost its link; it is paused once (libvirt's post-copy failed
 *   state), to be resumed when the link is back (docs/live-migration.md, "Post-copy recovery");
 * - progress: 100 − the remaining percentage of all data.
 */
import type { MigrationProgress } from '../../../workflows/live-migration-contract';
import type { JobStats } from '../../../virt/libvirt/binding';
import type { LiveMigrationSettings } from './settings';

const GIB = 1024 ** 3;

/** Nova counts memory and each block-migrated disk as at least this many GiB. */
const MIN_DATA_GIB = 2;

/** GiB of data a migration moves, as Nova reckons it for its timeouts and steps. */
export function migrationDataGiB(
  memoryMiB: number,
  blockMigratedDiskBytes: readonly number[],
): number {
  const atLeastMin = (gib: number) => Math.max(MIN_DATA_GIB, gib);
  return blockMigratedDiskBytes.reduce(
    (sum, bytes) => sum + atLeastMin(bytes / GIB),
    atLeastMin(memoryMiB / 1024),
  );
}

export interface DowntimeStep {
  /** The step applies once the job has run longer than this. */
  afterMs: number;
  downtimeMs: number;
}

type DowntimeSettings = Pick<
  LiveMigrationSettings,
  'maxDowntimeMs' | 'downtimeSteps' | 'downtimeDelayPerGiB'
>;

/** Nova's downtime_steps(data_gb): S + 1 steps from D / S up to D. */
export function downtimeSteps(settings: DowntimeSettings, dataGiB: number): DowntimeStep[] {
  const delaySeconds = Math.trunc(settings.downtimeDelayPerGiB * dataGiB);
  const base = settings.maxDowntimeMs / settings.downtimeSteps;
  const offset = (settings.maxDowntimeMs - base) / settings.downtimeSteps;
  return Array.from({ length: settings.downtimeSteps + 1 }, (_, step) => ({
    afterMs: delaySeconds * step * 1000,
    downtimeMs: Math.trunc(base + offset * step),
  }));
}

/** Nova's completion timeout for this much data; null when the setting is 0 (none). */
export function completionTimeoutMs(
  settings: Pick<LiveMigrationSettings, 'completionTimeoutPerGiB'>,
  dataGiB: number,
): number | null {
  if (settings.completionTimeoutPerGiB <= 0) return null;
  return Math.trunc(settings.completionTimeoutPerGiB * dataGiB) * 1000;
}

/** What the monitor works to, fixed when it starts. */
export interface MonitorPlan {
  steps: DowntimeStep[];
  completionTimeoutMs: number | null;
  /** Null when stall detection is off. */
  progressTimeoutMs: number | null;
  timeoutAction: LiveMigrationSettings['timeoutAction'];
  postCopyStallMs: number;
}

export function monitorPlan(
  settings: Pick<
    LiveMigrationSettings,
    | 'maxDowntimeMs'
    | 'downtimeSteps'
    | 'downtimeDelayPerGiB'
    | 'completionTimeoutPerGiB'
    | 'progressTimeoutSeconds'
    | 'timeoutAction'
    | 'postCopyStallTimeoutSeconds'
  >,
  dataGiB: number,
): MonitorPlan {
  return {
    steps: downtimeSteps(settings, dataGiB),
    completionTimeoutMs: completionTimeoutMs(settings, dataGiB),
    progressTimeoutMs:
      settings.progressTimeoutSeconds > 0 ? settings.progressTimeoutSeconds * 1000 : null,
    timeoutAction: settings.timeoutAction,
    postCopyStallMs: settings.postCopyStallTimeoutSeconds * 1000,
  };
}

/** What the monitor remembers between polls. */
export interface MonitorState {
  /** Index of the first downtime step not applied yet. */
  nextStep: number;
  /** The lowest data remaining seen, and the elapsed time it was first seen at. */
  lowestRemaining: number | null;
  lowestAtMs: number;
  /** Whether the completion timeout's action was taken (it is taken once). */
  timeoutActed: boolean;
  /** In post-copy: the most data processed seen, and the elapsed time it was first seen at. */
  postCopyProcessed: number | null;
  postCopyMovedAtMs: number;
  /** Whether the post-copy was paused as stalled (it is paused once). */
  postCopyPaused: boolean;
}

export const INITIAL_MONITOR_STATE: Readonly<MonitorState> = Object.freeze({
  nextStep: 0,
  lowestRemaining: null,
  lowestAtMs: 0,
  timeoutActed: false,
  postCopyProcessed: null,
  postCopyMovedAtMs: 0,
  postCopyPaused: false,
});

/** One poll of a running job. */
export interface Observation {
  /** How long the job has run. */
  elapsedMs: number;
  /** Bytes; 0 or undefined while the job is still setting up. */
  dataTotal: number | undefined;
  dataRemaining: number | undefined;
  dataProcessed: number | undefined;
  postCopy: boolean;
}

export type MonitorAction =
  | { kind: 'set-max-downtime'; downtimeMs: number }
  | { kind: 'force-complete' }
  | { kind: 'pause-post-copy' }
  | { kind: 'abort'; reason: 'timeout' | 'stalled' };

export interface Decision {
  state: MonitorState;
  actions: MonitorAction[];
}

/** Whether the job moves data yet: during its setup libvirt reports no data total. */
function moving(observation: Observation): boolean {
  return !!observation.dataTotal && observation.dataRemaining !== undefined;
}

function trackLowest(state: MonitorState, observation: Observation): MonitorState {
  const { dataRemaining, elapsedMs } = observation;
  if (!moving(observation) || dataRemaining === undefined) return state;
  if (state.lowestRemaining !== null && dataRemaining >= state.lowestRemaining) return state;
  return { ...state, lowestRemaining: dataRemaining, lowestAtMs: elapsedMs };
}

function trackPostCopy(state: MonitorState, observation: Observation): MonitorState {
  const { dataProcessed, elapsedMs } = observation;
  if (!observation.postCopy || dataProcessed === undefined) return state;
  if (state.postCopyProcessed !== null && dataProcessed <= state.postCopyProcessed) return state;
  return { ...state, postCopyProcessed: dataProcessed, postCopyMovedAtMs: elapsedMs };
}

/** The step due now, skipping any that passed unapplied (after a retry re-attached). */
function dueStep(plan: MonitorPlan, state: MonitorState, elapsedMs: number): number | null {
  let due: number | null = null;
  for (let step = state.nextStep; step < plan.steps.length; step++) {
    if (elapsedMs > plan.steps[step].afterMs) due = step;
  }
  return due;
}

/**
 * The actions for this poll: an abort ends the list (nothing else matters once the job is being
 * aborted), and so does pausing a stalled post-copy; otherwise the completion timeout's
 * force-complete and the downtime step due, if any.
 */
export function decide(
  plan: MonitorPlan,
  previous: MonitorState,
  observation: Observation,
): Decision {
  let state = trackPostCopy(trackLowest(previous, observation), observation);
  const { elapsedMs, postCopy } = observation;
  if (
    postCopy &&
    !state.postCopyPaused &&
    (observation.dataRemaining ?? 0) > 0 &&
    state.postCopyProcessed !== null &&
    elapsedMs - state.postCopyMovedAtMs > plan.postCopyStallMs
  ) {
    state = { ...state, postCopyPaused: true };
    return { state, actions: [{ kind: 'pause-post-copy' }] };
  }
  if (
    !postCopy &&
    plan.progressTimeoutMs !== null &&
    state.lowestRemaining !== null &&
    elapsedMs - state.lowestAtMs > plan.progressTimeoutMs
  ) {
    return { state, actions: [{ kind: 'abort', reason: 'stalled' }] };
  }
  const actions: MonitorAction[] = [];
  const timedOut =
    !postCopy &&
    !state.timeoutActed &&
    plan.completionTimeoutMs !== null &&
    elapsedMs > plan.completionTimeoutMs;
  if (timedOut && plan.timeoutAction === 'abort') {
    state = { ...state, timeoutActed: true };
    return { state, actions: [{ kind: 'abort', reason: 'timeout' }] };
  }
  if (timedOut && moving(observation)) {
    state = { ...state, timeoutActed: true };
    actions.push({ kind: 'force-complete' });
  }
  const step = dueStep(plan, state, elapsedMs);
  if (step !== null) {
    state = { ...state, nextStep: step + 1 };
    actions.push({ kind: 'set-max-downtime', downtimeMs: plan.steps[step].downtimeMs });
  }
  return { state, actions };
}

type ProgressCounters = Pick<
  JobStats,
  | 'dataTotal'
  | 'dataRemaining'
  | 'memTotal'
  | 'memProcessed'
  | 'memRemaining'
  | 'diskTotal'
  | 'diskProcessed'
  | 'diskRemaining'
>;

/** Nova's progress: 100 − round(remaining × 100 / total); 0 until the total is known. */
export function progressPercent(dataTotal: number, dataRemaining: number): number {
  if (dataTotal <= 0) return 0;
  const remaining = Math.round((Math.min(dataRemaining, dataTotal) * 100) / dataTotal);
  return 100 - Math.max(0, remaining);
}

/** The counters of a job's stats as the Migration row and the workflow keep them. */
export function progressFromStats(stats: ProgressCounters, postCopy: boolean): MigrationProgress {
  return {
    memoryTotalBytes: stats.memTotal ?? 0,
    memoryProcessedBytes: stats.memProcessed ?? 0,
    memoryRemainingBytes: stats.memRemaining ?? 0,
    diskTotalBytes: stats.diskTotal ?? 0,
    diskProcessedBytes: stats.diskProcessed ?? 0,
    diskRemainingBytes: stats.diskRemaining ?? 0,
    percent: progressPercent(stats.dataTotal ?? 0, stats.dataRemaining ?? 0),
    postCopy,
  };
}

/**
 * Whether a broken post-copy is still worth another resume attempt: the link has been gone
 * (since `brokenAtMs`) for no longer than the resume timeout.
 */
export function mayRetryResume(
  settings: Pick<LiveMigrationSettings, 'postCopyResumeTimeoutSeconds'>,
  brokenAtMs: number,
  nowMs: number,
): boolean {
  return nowMs - brokenAtMs <= settings.postCopyResumeTimeoutSeconds * 1000;
}
