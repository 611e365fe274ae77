/**
 * The contract of the hostHeartbeats workflow (docs/host-liveness.md): the control plane asks every
 * registered host's agent to answer, and records who did. Pure declarations, safe for workflow code.
 */

/** The one heartbeat workflow of a Temporal namespace, started by every control worker. */
export const HOST_HEARTBEATS_WORKFLOW_ID = 'ferry-host-heartbeats';

export interface HeartbeatRound {
  /** Every registered host, forced down or not: liveness and the operator's word are apart. */
  hosts: string[];
  /** Seconds to wait before the next round (report_interval). */
  reportIntervalSeconds: number;
}

/** The control activities the hostHeartbeats workflow calls. */
export interface HostHeartbeatControlActivities {
  listHeartbeatHosts(): Promise<HeartbeatRound>;
  /** lastHeartbeatAt = now for each host whose agent answered this round. */
  recordHeartbeats(request: { hosts: string[] }): Promise<void>;
}

/** The host activity each agent answers a heartbeat with. */
export interface HeartbeatHostActivities {
  heartbeat(): Promise<{ host: string }>;
}
