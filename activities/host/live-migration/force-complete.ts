/** Forcing a live migration to converge: post-copy where permitted, else pausing the guest. */
import { log } from '@temporalio/activity';
import { DOMAIN_STATE, isLibvirtError } from '../../../virt/libvirt/binding';
import type { HypervisorDomain as Domain } from '../../../virt/driver';
import { PAUSED_REASON, currentJob, migrationJobActive } from '../../../virt/libvirt/domain-lookup';

export type ForceCompleteOutcome = 'post-copy' | 'paused' | 'no-job';

/**
 * With the job running: switches it to post-copy when `permitPostCopy` and libvirt accepts (the
 * job must have been started with MIGRATE.POSTCOPY), else suspends the guest so that no page is
 * dirtied any more and the job converges. A job already in post-copy, or a guest already paused,
 * is left as it is.
 */
export async function forceComplete(
  domain: Domain,
  permitPostCopy: boolean,
): Promise<ForceCompleteOutcome> {
  if (!migrationJobActive(await currentJob(domain))) return 'no-job';
  const { state, reason } = await domain.getState();
  if (state === DOMAIN_STATE.PAUSED) {
    return reason === PAUSED_REASON.POSTCOPY ? 'post-copy' : 'paused';
  }
  if (permitPostCopy) {
    try {
      await domain.migrateStartPostCopy();
      return 'post-copy';
    } catch (error) {
      if (!isLibvirtError(error)) throw error;
      log.warn('post-copy refused, pausing the guest instead', { error: error.message });
    }
  }
  await domain.suspend();
  return 'paused';
}
