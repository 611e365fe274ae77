/**
 * Host agents of the `sim` driver: one worker per simulated host, on that host's task queue, all
 * in one process and running the real host activities on one SimFleet's hypervisor. Benchmarks
 * and scale tests only: a real fleet runs `ferry agent` on each compute host.
 */
import { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHostActivities, type HostAgentContext } from '../activities/host';
import type { LiveMigrationSettings } from '../activities/host/live-migration/settings';
import { SimFleet } from '../virt/sim/fleet';
import { hostTaskQueue } from '../workflows/task-queues';
import { progressReporter } from './agent';
import type { Logger } from '../config/logging';

export interface SimAgents {
  /** Stops every worker, waits for them and removes the hosts' instances dirs. */
  shutdown(): Promise<void>;
}

export async function startSimAgents(options: {
  connection: NativeConnection;
  client: Client;
  namespace: string;
  fleet: SimFleet;
  liveMigration: LiveMigrationSettings;
  log: Logger;
  /** How a sim host reports progress; the host agent's reporter by default. */
  reportProgress?: HostAgentContext['reportProgress'];
}): Promise<SimAgents> {
  const { connection, client, namespace, fleet, log } = options;
  const reportProgress = options.reportProgress ?? progressReporter(client, log);
  // Each sim host gets an instances dir of its own, as hosts without shared storage have.
  const root = await mkdtemp(join(tmpdir(), 'ferry-sim-'));
  const workers = await Promise.all(
    fleet.hosts.map(async (hostName) => {
      const instancesDir = join(root, hostName);
      await mkdir(instancesDir);
      return Worker.create({
        connection,
        namespace,
        taskQueue: hostTaskQueue(hostName),
        maxConcurrentActivityTaskPolls: 1,
        maxHeartbeatThrottleInterval: '1s',
        activities: createHostActivities({
          hostName,
          hypervisor: fleet.hypervisor,
          libvirtUri: SimFleet.uri(hostName),
          instancesDir,
          liveMigration: options.liveMigration,
          reportProgress,
        }),
      });
    }),
  );
  const running = workers.map((worker) => worker.run());
  return {
    async shutdown() {
      workers.forEach((worker) => worker.shutdown());
      await Promise.all(running);
      await rm(root, { recursive: true, force: true });
    },
  };
}
