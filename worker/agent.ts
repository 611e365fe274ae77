import { Context } from '@temporalio/activity';
import { Client, Connection } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { userInfo } from 'node:os';
import { openDatabase, type Database } from '../db/database';
import { saveMigrationProgress } from '../activities/control/migration-progress';
import { createHostActivities, type HostAgentContext } from '../activities/host';
import { liveMigrationSettings } from '../activities/host/live-migration/settings';
import { defaultIdentityFile } from '../activities/host/resize/peer-access';
import {
  MIGRATION_PROGRESS_SIGNAL,
  type MigrationProgress,
} from '../workflows/live-migration-contract';
import { hostTaskQueue } from '../workflows/task-queues';
import type { FerryConfig } from '../config';
import { installTemporalLogging, type Logger } from '../config/logging';
import { connectWorker } from '../temporal/connection';
import { temporalTls } from '../temporal/tls';
import { libvirtHypervisor } from '../virt/libvirt/hypervisor';

/**
 * The most a heartbeat waits before the worker sends it. An activity learns it was cancelled
 * (an abort request) only from the answer to a heartbeat, and the SDK would otherwise hold
 * heartbeats for 80 % of the heartbeat timeout.
 */
const MAX_HEARTBEAT_THROTTLE = '1s';

/**
 * Saves the progress to the Migration row and signals it to the workflow of the activity calling
 * (the migrating one), independently: each failure is logged, none is thrown.
 */
export function progressReporter(
  db: Database,
  client: Client,
  log: Logger,
): HostAgentContext['reportProgress'] {
  return async (migrationUuid: string, progress: MigrationProgress) => {
    const execution = Context.current().info.workflowExecution;
    const steps = {
      save: saveMigrationProgress(db, migrationUuid, progress),
      signal: execution
        ? client.workflow
            .getHandle(execution.workflowId, execution.runId)
            .signal(MIGRATION_PROGRESS_SIGNAL, progress)
        : Promise.resolve(),
    };
    const results = await Promise.allSettled(Object.values(steps));
    Object.keys(steps).forEach((step, index) => {
      const result = results[index];
      if (result.status === 'rejected') {
        log.warn(
          { migration: migrationUuid, step, err: (result.reason as Error).message },
          'could not report migration progress',
        );
      }
    });
  };
}

/**
 * The host agent: the activities that touch one compute host (libvirt, disks, SSH), on task queue
 * `ferry-host-NAME`. Like nova-compute it runs on that host. Runs until SIGINT/SIGTERM.
 */
export async function runHostAgent(
  config: FerryConfig,
  logger: Logger,
  host: string,
): Promise<void> {
  const db = await openDatabase(config.databaseUrl);
  try {
    const row = await db.host.findUnique({ where: { name: host } });
    if (!row) throw new Error(`host "${host}" is not registered: add it with \`ferry hosts add\``);
    const log = logger.child({ host });
    installTemporalLogging(log);
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
          libvirtUri: row.libvirtUri,
          instancesDir: row.instancesDir,
          liveMigration: liveMigrationSettings(config),
          reportProgress: progressReporter(db, client, log),
          peers: {
            describePeer: (name) =>
              db.host.findUnique({
                where: { name },
                select: { sshAddress: true, sshPort: true, sshHostKey: true, instancesDir: true },
              }),
            username: userInfo().username,
            privateKeyPath: defaultIdentityFile(),
          },
        }),
      });
      log.info(
        { taskQueue, libvirtUri: row.libvirtUri, instancesDir: row.instancesDir },
        'host agent running',
      );
      await worker.run();
    } finally {
      await client.connection.close();
      await connection.close();
    }
  } finally {
    await db.$disconnect();
  }
}
