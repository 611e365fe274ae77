/**
 * Post-copy recovery, on the source host: once the guest runs on the destination, a post-copy
 * migration that lost its link is not failed but resumed (VIR_MIGRATE_POSTCOPY_RESUME) as soon as
 * the link is back, retried for the post-copy resume timeout. Past it, the failure says where the
 * guest is: split between both hosts, neither of which may run it alone (docs/live-migration.md,
 * "Post-copy recovery").
 */
import { Context, log } from '@temporalio/activity';
import { setTimeout as sleep } from 'node:timers/promises';
import { DOMAIN_STATE, VIR_ERR, isLibvirtError } from '../../../virt/libvirt/binding';
import type { HypervisorDomain as Domain } from '../../../virt/driver';
import { PAUSED_REASON } from '../../../virt/libvirt/domain-lookup';
import { migrationFailure } from './failures';
import type { MonitorOutcome } from './monitor';
import { mayRetryResume } from './monitor-policy';
import type { LiveMigrationSettings } from './settings';

/** Pause between two resume attempts that failed at once (the link still down). */
const RESUME_RETRY_MS = 1000;

/** Whether the source's domain waits in a failed post-copy, to be resumed; false once gone. */
export async function postCopyFailed(domain: Domain): Promise<boolean> {
  try {
    const { state, reason } = await domain.getState();
    return state === DOMAIN_STATE.PAUSED && reason === PAUSED_REASON.POSTCOPY_FAILED;
  } catch (error) {
    if (isLibvirtError(error, VIR_ERR.NO_DOMAIN)) return false;
    throw error;
  }
}

export interface PostCopyRecovery {
  settings: Pick<LiveMigrationSettings, 'postCopyResumeTimeoutSeconds'>;
  /** "live migration of instance X from A to B", for the failure. */
  what: string;
  sourceHost: string;
  destHost: string;
  /** When the link was found broken (epoch ms). */
  brokenAt: number;
  /** Why the job failed, as libvirt said. */
  cause: string;
  /** One resume attempt: migrateToURI3 with POSTCOPY_RESUME, monitored to its end. */
  resume: () => Promise<MonitorOutcome>;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Resumes the failed post-copy until an attempt completes it; returns that attempt's outcome. An
 * attempt that moved data before failing again starts the wait afresh (a new outage). Throws a
 * non-retryable MigrationError once the link has been gone for longer than the resume timeout.
 */
export async function recoverPostCopy(recovery: PostCopyRecovery): Promise<MonitorOutcome> {
  const activity = Context.current();
  const timeoutSeconds = recovery.settings.postCopyResumeTimeoutSeconds;
  let brokenAt = recovery.brokenAt;
  let cause = recovery.cause;
  let attempt = 0;
  log.warn('the post-copy migration lost its link: resuming it once the link is back', {
    cause,
    timeoutSeconds,
  });
  while (mayRetryResume(recovery.settings, brokenAt, Date.now())) {
    attempt += 1;
    const waitedMs = Date.now() - brokenAt;
    log.info('resuming the post-copy migration', { attempt, waitedMs });
    activity.heartbeat({ resumeAttempt: attempt, waitedMs });
    const outcome = await recovery.resume();
    if (outcome.call?.kind === 'returned') {
      log.info('the post-copy migration resumed and completed', { attempt });
      return outcome;
    }
    cause = outcome.call?.kind === 'rejected' ? errorMessage(outcome.call.error) : cause;
    log.warn('resume attempt failed', { attempt, error: cause });
    if (outcome.postCopyRan) brokenAt = outcome.postCopyPausedAt ?? Date.now();
    activity.heartbeat({ resumeAttempt: attempt, waitedMs: Date.now() - brokenAt });
    await sleep(RESUME_RETRY_MS);
  }
  throw migrationFailure(
    'MigrationError',
    `${recovery.what}: its post-copy phase lost the link and could not be resumed within ` +
      `${timeoutSeconds} s (${attempt} attempts; last error: ${cause}). The guest's state is ` +
      `split between ${recovery.sourceHost} (paused) and ${recovery.destHost} (running, waiting ` +
      'for memory): both domains are left as they are, and neither may be restarted alone; ' +
      'resume the migration once the link is back',
  );
}
