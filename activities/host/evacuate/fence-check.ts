/**
 * Fencing before an evacuation (docs/evacuate.md, "Fencing"): the destination asks the source's
 * libvirt, over the hosts' own network, whether it still answers. A source whose libvirt answers
 * may still run the instance, so the evacuation is refused.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Hypervisor } from '../../../virt/driver';
import { migrationFailure } from '../live-migration/failures';

/** How long the source's libvirt has to answer: a connection not made by then counts as none. */
export const FENCE_CHECK_TIMEOUT_MS = 15_000;

/** `detail`: the failure that did not show the source's libvirt gone. */
type Answer = { answered: true; detail?: string } | { answered: false; reason: string };

/**
 * The failures that mean nothing listens at the source's address. Any other (a TLS handshake or
 * authentication refused, an unknown URI) means something answered, or that ferry cannot tell:
 * either way the source is not known to be fenced.
 */
const NOTHING_LISTENS =
  /Connection refused|No route to host|Host is unreachable|Network is unreachable|timed out/i;

async function ask(hypervisor: Hypervisor, uri: string): Promise<Answer> {
  try {
    await hypervisor.withConnection(uri, (conn) => conn.getVersion());
    return { answered: true };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return NOTHING_LISTENS.test(reason)
      ? { answered: false, reason }
      : { answered: true, detail: reason };
  }
}

/** Refuses (ComputeServiceInUse) when libvirt at `uri` answers within FENCE_CHECK_TIMEOUT_MS. */
export async function refuseUnlessFenced(
  hypervisor: Hypervisor,
  source: { uri: string; askedFrom: string },
  timeoutMs = FENCE_CHECK_TIMEOUT_MS,
): Promise<string> {
  const timer = new AbortController();
  const answer = await Promise.race([
    ask(hypervisor, source.uri),
    // Aborted once libvirt has answered or refused; the race is decided by then.
    sleep(timeoutMs, undefined, { signal: timer.signal }).then(
      (): Answer => ({ answered: false, reason: `no answer within ${timeoutMs / 1000} s` }),
      (): Answer => ({ answered: true }),
    ),
  ]).finally(() => timer.abort());
  if (answer.answered) {
    throw migrationFailure(
      'ComputeServiceInUse',
      `libvirt at ${source.uri} still answers ${source.askedFrom}` +
        (answer.detail ? ` (${answer.detail})` : '') +
        ': the source may still run the instance. ' +
        'Fence the host (power it off), then force it down (ferry hosts force-down) to evacuate',
    );
  }
  return answer.reason;
}
