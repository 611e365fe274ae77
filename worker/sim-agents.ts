/**
 * Host agents of the `sim` driver: one worker per simulated host, on that host's task queue,
 * all in one process and answering from one SimFleet. Benchmarks and scale tests only: a real
 * fleet runs `ferry agent` on each compute host.
 */
import { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createSimLiveMigrationActivities } from '../activities/host/sim/live-migration';
import type { SimFleet } from '../activities/host/sim/sim-fleet';
import { hostTaskQueue } from '../workflows/types';
import { progressReporter } from './agent';
import type { Logger } from '../config/logging';

export interface SimAgents {
  /** Stops every worker and waits for them. */
  shutdown(): Promise<void>;
}

export async function startSimAgents(options: {
  connection: NativeConnection;
  client: Client;
  namespace: string;
  fleet: SimFleet;
  log: Logger;
}): Promise<SimAgents> {
  const { connection, client, namespace, fleet, log } = options;
  const reportProgress = progressReporter(client, log);
  const workers = await Promise.all(
    fleet.hosts.map((hostName) =>
      Worker.create({
        connection,
        namespace,
        taskQueue: hostTaskQueue(hostName),
        maxConcurrentActivityTaskPolls: 1,
        maxHeartbeatThrottleInterval: '1s',
        activities: createSimLiveMigrationActivities({ fleet, hostName, reportProgress }),
      }),
    ),
  );
  const running = workers.map((worker) => worker.run());
  return {
    async shutdown() {
      workers.forEach((worker) => worker.shutdown());
      await Promise.all(running);
    },
  };
}
