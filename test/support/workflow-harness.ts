/**
 * Runs the real workflow code on the run's real Temporal server, with workers whose activities are
 * the MOCK FakeFleet: one worker on a fresh control queue, one per fake host's queue.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import {
  bundleWorkflowCode,
  NativeConnection,
  Worker,
  type WorkflowBundle,
} from '@temporalio/worker';
import type { liveMigration } from '../../workflows/live-migration';
import type { LiveMigrationInput } from '../../workflows/live-migration-contract';
import { hostTaskQueue } from '../../workflows/task-queues';
import { FakeFleet } from './fake-live-migration-activities';

/** MOCK activities for a fleet of fake hosts: the control queue's and each host's. */
export interface FakeWorkers {
  readonly hosts: string[];
  controlActivities(): object;
  hostActivities(host: string): object;
}

export interface Harness {
  client: Client;
  /** Starts `workflowType` with `args` on a fresh control queue, workers running until `body` ends. */
  runWorkflow<T>(
    fakes: FakeWorkers,
    workflowType: string,
    args: unknown[],
    workflowId: string,
    body: (handle: WorkflowHandle) => Promise<T>,
  ): Promise<T>;
  /** A fleet of fake hosts with unique names: a source and `destinations` others. */
  fleet(destinations: number): FakeFleet;
  /** Starts liveMigration on `fleet` with workers running until `body` returns. */
  run<T>(
    fleet: FakeFleet,
    input: Partial<LiveMigrationInput>,
    body: (handle: WorkflowHandle<typeof liveMigration>) => Promise<T>,
  ): Promise<T>;
  close(): Promise<void>;
}

/** `workflowsPath`: the workflows to bundle, ferry's own unless a test brings MOCK ones too. */
export async function workflowHarness(
  workflowsPath = require.resolve('../../workflows'),
): Promise<Harness> {
  const address = process.env.FERRY_TEST_TEMPORAL_ADDRESS as string;
  const bundle: WorkflowBundle = await bundleWorkflowCode({
    workflowsPath,
    logger: {
      log: () => undefined,
      trace: () => undefined,
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: () => undefined,
    },
  });
  const connection = await NativeConnection.connect({ address });
  const client = new Client({ connection: await Connection.connect({ address }) });
  const harness: Harness = {
    client,
    fleet(destinations) {
      const id = randomUUID().slice(0, 8);
      const hosts = Array.from({ length: destinations + 1 }, (_, i) => `h${i}-${id}`);
      return new FakeFleet(hosts[0], hosts);
    },
    async runWorkflow(fakes, workflowType, args, workflowId, body) {
      const taskQueue = `ferry-test-${randomUUID()}`;
      const control = await Worker.create({
        connection,
        taskQueue,
        workflowBundle: bundle,
        activities: fakes.controlActivities(),
      });
      const agents = await Promise.all(
        fakes.hosts.map((host) =>
          Worker.create({
            connection,
            taskQueue: hostTaskQueue(host),
            activities: fakes.hostActivities(host),
            maxHeartbeatThrottleInterval: '200ms',
          }),
        ),
      );
      const agentRuns = agents.map((agent) => agent.run());
      try {
        return await control.runUntil(async () =>
          body(await client.workflow.start(workflowType, { taskQueue, workflowId, args })),
        );
      } finally {
        agents.forEach((agent) => agent.shutdown());
        await Promise.all(agentRuns);
      }
    },
    async run(fleet, input, body) {
      const args: LiveMigrationInput = {
        migrationUuid: randomUUID(),
        instanceUuid: randomUUID(),
        instanceName: 'demo',
        sourceHost: fleet.source,
        requestedHost: null,
        blockMigration: 'auto',
        requestedBy: 'test',
        ...input,
      };
      return harness.runWorkflow(
        fleet,
        'liveMigration',
        [args],
        `instance-${args.instanceUuid}`,
        (handle) => body(handle as WorkflowHandle<typeof liveMigration>),
      );
    },
    async close() {
      await client.connection.close();
      await connection.close();
    },
  };
  return harness;
}
