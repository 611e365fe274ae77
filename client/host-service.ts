/**
 * A host's compute service as an operator sets it (docs/host-liveness.md): enabled or disabled
 * with a reason, forced down or not. One place for `ferry hosts enable|disable|force-down|force-up`
 * and the API's os-services, so both change one state.
 */
import type { Database } from '../db/database';
import type { Host } from '../db/models';
import { RequestError } from './request-error';

export interface ServiceChange {
  status?: 'enabled' | 'disabled';
  /** With status disabled: why (null or absent: no reason). */
  disabledReason?: string | null;
  forcedDown?: boolean;
}

export async function changeHostService(
  db: Database,
  name: string,
  change: ServiceChange,
): Promise<{ host: Host; changed: boolean }> {
  const host = await db.host.findUnique({ where: { name } });
  if (!host) {
    throw new RequestError('ComputeHostNotFound', 404, `compute host ${name} could not be found`);
  }
  if (change.disabledReason != null && change.status !== 'disabled') {
    throw new RequestError(
      'InvalidInput',
      400,
      'disabled_reason: only with status disabled (a reason for an enabled host would say nothing)',
    );
  }
  const data: Partial<Pick<Host, 'state' | 'disabledReason' | 'forcedDown'>> = {};
  if (change.status === 'disabled') {
    data.state = 'disabled';
    data.disabledReason = change.disabledReason?.trim() || null;
  }
  if (change.status === 'enabled' && host.state !== 'up') {
    if (host.state !== 'disabled') {
      throw new RequestError(
        'InvalidInput',
        400,
        `host ${host.name} is ${host.state}, not disabled: enabling it would not bring it up`,
      );
    }
    const draining = await db.drain.findFirst({ where: { host: host.name, status: 'running' } });
    if (draining) {
      throw new RequestError(
        'HostDrainInProgress',
        409,
        `host ${host.name} has drain ${draining.id} running: abort it first (ferry hosts drain ${host.name} --abort)`,
      );
    }
    data.state = 'up';
    data.disabledReason = null;
  }
  if (change.forcedDown !== undefined) data.forcedDown = change.forcedDown;
  if (Object.keys(data).length === 0) return { host, changed: false };
  return { host: await db.host.update({ where: { name: host.name }, data }), changed: true };
}
