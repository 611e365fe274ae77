/**
 * Whether a host is up (docs/host-liveness.md): Nova's servicegroup rule. A host is up while its
 * agent has answered a heartbeat within service_down_time, unless the operator forced it down.
 * Pure, so the API, the CLI and the control activities decide alike.
 */
export type Liveness = 'up' | 'down';

export interface HeartbeatRecord {
  forcedDown: boolean;
  lastHeartbeatAt: Date | null;
}

export function hostLiveness(
  host: HeartbeatRecord,
  now: Date,
  serviceDownTimeSeconds: number,
): Liveness {
  if (host.forcedDown || host.lastHeartbeatAt === null) return 'down';
  const silentMs = now.getTime() - host.lastHeartbeatAt.getTime();
  return silentMs <= serviceDownTimeSeconds * 1000 ? 'up' : 'down';
}

/**
 * The host's service as placement sees it: `disabled` or `up` as the operator set it, `down` when
 * forced down (the operator's word that nothing runs there) or marked down.
 */
export function serviceState(host: { state: string; forcedDown: boolean }): string {
  return host.forcedDown ? 'down' : host.state;
}
