import { Context } from '@temporalio/activity';
import { Client, Connection } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { userInfo } from 'node:os';
import { Registry } from 'prom-client';
import { createHostActivities, type HostAgentContext } from '../activities/host';
import { diskCopyBytes } from '../activities/host/copy-disk';
import { liveMigrationSettings } from '../activities/host/live-migration/settings';
import { defaultIdentityFile } from '../activities/host/resize/peer-access';
import {
  MIGRATION_PROGRESS_SIGNAL,
  type MigrationProgress,
} from '../workflows/live-migration-contract';
import { hostTaskQueue } from '../workflows/task-queues';
import { libvirtHypervisor } from '../virt/libvirt/hypervisor';
import type { AgentConfig, FerryConfig } from '../config';
import type { Logger } from '../config/logging';
import { processRegistry } from '../metrics/process';
import { connectWorker } from '../temporal/connection';
import { temporalTls } from '../temporal/tls';
import { startWorkerMetrics } from './metrics';

/**
 * The most a heartbeat waits before the worker sends it. An activity learns it was cancelled
 * (an abort request) only from the answer to a heartbeat, and the SDK would otherwise hold
 * heartbeats for 80 % of the heartbeat timeout.
 */
const MAX_HEARTBEAT_THROTTLE = '1s';

/** An agent's figures: its process's and the bytes its disk copies sent. */
function agentRegistry(): Registry {
  const registry = new Registry();
  registry.registerMetric(diskCopyBytes);
  return Registry.merge([registry, processRegistry]);
}

/**
 * Signals the progress to the workflow of the activity calling (the migrating one), which has the
 * control plane save it (docs/host-agent.md, "Progress"). A failure is logged, never thrown.
 */
export function progressReporter(client: Client, log: Logger): HostAgentContext['reportProgress'] {
  return async (migrationUuid: string, progress: MigrationProgress) => {
    const execution = Context.current().info.workflowExecution;
    if (!execution) return;
    await client.workflow
      .getHandle(execution.workflowId, execution.runId)
      .signal(MIGRATION_PROGRESS_SIGNAL, progress)
      .catch((error: unknown) =>
        log.warn(
          { migration: migrationUuid, err: (error as Error).message },
          'could not report migration progress',
        ),
      );
  };
}

/**
 * The host agent: the activities that touch one compute host (libvirt, disks, SSH), on task queue
 * `ferry-host-NAME`. Like nova-compute it runs on that host, and like it never opens the database:
 * its host's libvirt URI and instances dir are its own settings, the rest comes in each request.
 * With FERRY_AGENT_METRICS_PORT set it serves `/metrics` (its own figures and the Temporal SDK's).
 * Runs until SIGINT/SIGTERM.
 */
export async function runHostAgent(
  config: FerryConfig,
  agent: AgentConfig,
  logger: Logger,
  host: string,
): Promise<void> {
  const log = logger.child({ host });
  const metrics = await startWorkerMetrics(log, {
    host: config.metricsHost,
    port: config.agentMetricsPort,
    registry: agentRegistry(),
  });
  const connection = await connectWorker(config, log);
  const client = new Client({
    connection: Connection.lazy({ address: config.temporalAddress, tls: temporalTls(config) }),
    namespace: config.temporalNamespace,
  });
  try {
    const taskQueue = hostTaskQueue(host);
    const worker = await Worker.create({
      connection,
      namespace: config.temporalNamespace,
      taskQueue,
      maxHeartbeatThrottleInterval: MAX_HEARTBEAT_THROTTLE,
      activities: createHostActivities({
        hostName: host,
        hypervisor: libvirtHypervisor,
        libvirtUri: agent.libvirtUri,
        instancesDir: agent.instancesDir,
        liveMigration: liveMigrationSettings(config),
        reportProgress: progressReporter(client, log),
        peers: { username: userInfo().username, privateKeyPath: defaultIdentityFile() },
      }),
    });
    log.info({ taskQueue, ...agent }, 'host agent running');
    await worker.run();
  } finally {
    await metrics?.close();
    await client.connection.close();
    await connection.close();
  }
}
