import type { Database } from '../../db/database';
import type {
  HeartbeatRound,
  HostHeartbeatControlActivities,
} from '../../workflows/host-heartbeats-contract';

/** Control activities of the hosts' heartbeat (docs/host-liveness.md). */
export function hostHeartbeatActivities(
  db: Database,
  config: { reportIntervalSeconds: number },
): HostHeartbeatControlActivities {
  return {
    async listHeartbeatHosts(): Promise<HeartbeatRound> {
      const hosts = await db.host.findMany({ select: { name: true }, orderBy: { name: 'asc' } });
      return {
        hosts: hosts.map((host) => host.name),
        reportIntervalSeconds: config.reportIntervalSeconds,
      };
    },

    async recordHeartbeats({ hosts }: { hosts: string[] }): Promise<void> {
      await db.host.updateMany({
        where: { name: { in: hosts } },
        data: { lastHeartbeatAt: new Date() },
      });
    },
  };
}
