/**
 * The live-migration monitor: polls the job every monitorIntervalMs on a connection of its own
 * (calls on the migrating connection can hang), heartbeats the progress, hands it to the reporter,
 * carries out what the policy decides (monitor-policy.ts) and aborts the job when the activity is
 * cancelled. It returns once the job is over, or (failed post-copy) once its call has returned.
 */
import { Context, log } from '@temporalio/activity';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MigrationProgress } from '../../../workflows/live-migration-contract';
import { ABORT_JOB, DOMAIN_STATE, VIR_ERR, isLibvirtError } from '../../../virt/libvirt/binding';
import type { HypervisorDomain as Domain } from '../../../virt/driver';
import { PAUSED_REASON, jobActive, currentJob } from '../../../virt/libvirt/domain-lookup';
import { forceComplete } from './force-complete';
import {
  INITIAL_MONITOR_STATE,
  decide,
  progressFromStats,
  type MonitorAction,
  type MonitorPlan,
  type MonitorState,
} from './monitor-policy';
import type { ProgressReporter } from './progress-reporter';

export type AbortReason = 'timeout' | 'stalled' | 'cancelled';
export type Forced = 'post-copy' | 'paused';

/** How the migrateToURI3 call of this attempt returned. */
export type CallResult = { kind: 'returned' } | { kind: 'rejected'; error: unknown };

export interface MonitorOptions {
  /** The migrating domain, looked up on the monitor's own connection. */
  domain: Domain;
  /** The migrateToURI3 call this attempt made; null when it attached to a job already running. */
  migration: Promise<void> | null;
  plan: MonitorPlan;
  intervalMs: number;
  permitPostCopy: boolean;
  reporter: ProgressReporter;
}

export interface MonitorOutcome {
  /** The call's result; null when attached (the job ended, the caller finds out how). */
  call: CallResult | null;
  /** Why the monitor aborted the job, if it did. */
  aborted: AbortReason | null;
  /** The last progress seen while the job ran. */
  progress: MigrationProgress | null;
  forced: Forced | null;
  /** When the monitor paused a post-copy that had lost its link (epoch ms), if it did. */
  postCopyPausedAt: number | null;
  /** Whether the job was seen moving data in post-copy. */
  postCopyRan: boolean;
}

function settle(call: Promise<void>): Promise<CallResult> {
  return call.then(
    () => ({ kind: 'returned' }),
    (error: unknown) => ({ kind: 'rejected', error }),
  );
}

/**
 * Why the guest is paused during the job, if it is: post-copy (running, or failed and waiting to
 * be resumed), or paused to converge.
 */
async function pausedFor(domain: Domain): Promise<Forced | null> {
  try {
    const { state, reason } = await domain.getState();
    if (state !== DOMAIN_STATE.PAUSED) return null;
    if (reason === PAUSED_REASON.POSTCOPY || reason === PAUSED_REASON.POSTCOPY_FAILED) {
      return 'post-copy';
    }
    return reason === PAUSED_REASON.USER ? 'paused' : null;
  } catch (error) {
    if (isLibvirtError(error, VIR_ERR.NO_DOMAIN)) return null;
    throw error;
  }
}

/** Aborts the domain's job; a job that ended meanwhile is no error. */
async function abortJob(domain: Domain): Promise<void> {
  try {
    await domain.abortJob();
  } catch (error) {
    if (!isLibvirtError(error)) throw error;
    log.warn('abortJob failed (the job may have ended)', { error: error.message });
  }
}

/** Waits `ms`, or less when the call settles or (if `cancellation` is given) on cancellation. */
async function pause(
  ms: number,
  cancellation: AbortSignal | null,
  settling: Promise<unknown> | null,
): Promise<void> {
  const done = new AbortController();
  const signal = cancellation ? AbortSignal.any([cancellation, done.signal]) : done.signal;
  const waits = [sleep(ms, undefined, { signal }).catch(() => undefined)];
  if (settling) waits.push(settling.then(() => undefined));
  await Promise.race(waits);
  done.abort();
}

export async function monitorMigration(options: MonitorOptions): Promise<MonitorOutcome> {
  const { domain, plan } = options;
  const activity = Context.current();
  const cancellation = activity.cancellationSignal;
  const startedAt = Date.now();
  let state: MonitorState = INITIAL_MONITOR_STATE;
  let progress: MigrationProgress | null = null;
  let forced: Forced | null = null;
  let aborted: AbortReason | null = null;
  let call: CallResult | null = null;
  let postCopyPausedAt: number | null = null;
  let postCopyRan = false;
  let postCopyFrom: number | undefined;
  const settling = options.migration
    ? settle(options.migration).then((result) => (call = result))
    : null;

  const carryOut = async (action: MonitorAction) => {
    switch (action.kind) {
      case 'set-max-downtime':
        await domain.migrateSetMaxDowntime(action.downtimeMs).then(
          () => log.info('max downtime stepped up', { downtimeMs: action.downtimeMs }),
          (error: Error) => log.warn('could not set the max downtime', { error: error.message }),
        );
        break;
      case 'force-complete': {
        const outcome = await forceComplete(domain, options.permitPostCopy);
        log.warn('completion timeout passed: forcing completion', { outcome });
        if (outcome !== 'no-job') forced = outcome;
        break;
      }
      case 'pause-post-copy':
        log.warn('post-copy moved no data within its stall timeout: pausing it to resume it', {
          stallTimeoutMs: plan.postCopyStallMs,
        });
        postCopyPausedAt = Date.now();
        await domain
          .abortJob(ABORT_JOB.POSTCOPY)
          .catch((error: Error) =>
            log.warn('could not pause the post-copy', { error: error.message }),
          );
        break;
      case 'abort':
        log.warn('aborting the migration job', { reason: action.reason });
        aborted = action.reason;
        await abortJob(domain);
        break;
    }
  };

  while (call === null) {
    if (cancellation.aborted && aborted === null) {
      aborted = 'cancelled';
      await abortJob(domain);
    }
    const stats = await currentJob(domain);
    if (options.migration === null && !jobActive(stats)) break;
    if (jobActive(stats)) {
      const paused = await pausedFor(domain);
      forced = paused ?? forced;
      progress = progressFromStats(stats, paused === 'post-copy');
      if (progress.postCopy && stats.dataProcessed !== undefined) {
        postCopyFrom ??= stats.dataProcessed;
        postCopyRan ||= stats.dataProcessed > postCopyFrom;
      }
      options.reporter.offer(progress, Date.now());
      if (aborted === null) {
        const decision = decide(plan, state, {
          elapsedMs: stats.timeElapsedMs ?? Date.now() - startedAt,
          dataTotal: stats.dataTotal,
          dataRemaining: stats.dataRemaining,
          dataProcessed: stats.dataProcessed,
          postCopy: progress.postCopy,
        });
        state = decision.state;
        for (const action of decision.actions) await carryOut(action);
      }
    }
    activity.heartbeat(progress ?? undefined);
    await pause(options.intervalMs, aborted === null ? cancellation : null, settling);
  }
  return { call, aborted, progress, forced, postCopyPausedAt, postCopyRan };
}
