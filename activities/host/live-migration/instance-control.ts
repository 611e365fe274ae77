/**
 * The small steps around a live migration on either host: where the instance's domain is, and
 * aborting, forcing or resuming it. Each accepts finding nothing to do.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { InstanceLocation } from '../../../workflows/live-migration-contract';
import type { HostAgentContext } from '../index';
import { DOMAIN_STATE, VIR_ERR, isLibvirtError } from '../../../virt/libvirt/binding';
import type { HypervisorDomain as Domain } from '../../../virt/driver';
import {
  PAUSED_REASON,
  findDomain,
  jobActive,
  currentJob,
  inPostCopy,
  migrationJobActive,
  migrationRunning,
  presenceOf,
} from '../../../virt/libvirt/domain-lookup';
import { migrationFailure } from './failures';
import { forceComplete, type ForceCompleteOutcome } from './force-complete';

type ControlContext = Pick<
  HostAgentContext,
  'hostName' | 'hypervisor' | 'libvirtUri' | 'liveMigration'
>;

/** How long abortLiveMigration waits for the aborted job to end. */
const ABORT_WAIT_MS = 30_000;
const ABORT_POLL_MS = 100;

/** Runs `fn` on the instance's domain here; `absent` when there is none, or it goes meanwhile. */
function onDomain<T>(
  context: ControlContext,
  instanceUuid: string,
  absent: T,
  fn: (domain: Domain) => Promise<T>,
): Promise<T> {
  return context.hypervisor.withConnection(context.libvirtUri, async (conn) => {
    const domain = await findDomain(conn, instanceUuid);
    if (!domain) return absent;
    try {
      return await fn(domain);
    } catch (error) {
      if (isLibvirtError(error, VIR_ERR.NO_DOMAIN)) return absent;
      throw error;
    } finally {
      await domain.close();
    }
  });
}

export function locateInstance(
  context: ControlContext,
  { instanceUuid }: { instanceUuid: string },
): Promise<InstanceLocation> {
  const absent: InstanceLocation = { presence: 'absent', migrating: false };
  return onDomain(context, instanceUuid, absent, async (domain) => ({
    presence: presenceOf((await domain.getState()).state),
    migrating: await migrationRunning(domain),
  }));
}

/**
 * Aborts the job and waits until it has ended, so that what follows sees where the guest is. A
 * job in post-copy cannot be aborted (the guest runs on the destination): it is left as it is.
 */
export function abortLiveMigration(
  context: ControlContext,
  { instanceUuid }: { instanceUuid: string },
): Promise<boolean> {
  return onDomain(context, instanceUuid, false, async (domain) => {
    if (!migrationJobActive(await currentJob(domain))) return false;
    if (inPostCopy(await domain.getState())) return false;
    try {
      await domain.abortJob();
    } catch (error) {
      if (isLibvirtError(error, VIR_ERR.OPERATION_INVALID)) return false;
      throw error;
    }
    const deadline = Date.now() + ABORT_WAIT_MS;
    for (;;) {
      if (!jobActive(await currentJob(domain))) return true;
      if (Date.now() > deadline) {
        throw new Error(`the aborted migration job of ${instanceUuid} is still running`);
      }
      await sleep(ABORT_POLL_MS);
    }
  });
}

export function forceCompleteLiveMigration(
  context: ControlContext,
  { instanceUuid }: { instanceUuid: string },
): Promise<ForceCompleteOutcome> {
  return onDomain(context, instanceUuid, 'no-job', (domain) =>
    forceComplete(domain, context.liveMigration.permitPostCopy),
  );
}

/**
 * Resumes a paused domain. Never one paused for post-copy: its memory is partly on the other
 * host by then, and running it here would run two diverging copies of the guest.
 */
export function resumeInstance(
  context: ControlContext,
  { instanceUuid }: { instanceUuid: string },
): Promise<boolean> {
  return onDomain(context, instanceUuid, false, async (domain) => {
    const { state, reason } = await domain.getState();
    if (state !== DOMAIN_STATE.PAUSED) return false;
    if (reason === PAUSED_REASON.POSTCOPY || reason === PAUSED_REASON.POSTCOPY_FAILED) {
      throw migrationFailure(
        'MigrationError',
        `instance ${instanceUuid} on ${context.hostName} is paused by a post-copy migration; ` +
          'resuming it here would run two copies of the guest',
      );
    }
    await domain.resume();
    return true;
  });
}
