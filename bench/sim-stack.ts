/**
 * The sim benchmarks' setup (bench/orchestration.ts, bench/drain.ts): a Temporal dev server with
 * persistent SQLite, a scratch ferry database, the control worker in its own process (`ferry
 * control`) and one process of sim host agents running the real host activities (docs/sim-driver.md)
 * on a fleet of sim hosts and running instances; and the burst of live migrations both measure.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { openDatabase, type Database } from '../db/database';
import { migrateDatabase } from '../db/migrate';
import { SimFleet } from '../virt/sim/fleet';
import { liveMigrationSettings } from '../activities/host/live-migration/settings';
import { loadConfig, type FerryConfig } from '../config';
import { startLiveMigration } from '../client/start-live-migration';
import { scratchDatabase } from '../test/support/databases';
import { populateSimFleet, type SimInstance } from '../test/support/sim-fleet';
import { createLogger } from '../config/logging';
import { startSimAgents } from '../worker/sim-agents';
import { controlWorkerArgs, controlWorkerEnv } from '../worker/control-process';
import { benchDevServer } from './dev-server';
import { Cleanups, runAll, stopChild } from './measure';

/** How many requests the burst keeps in flight at once (an API tier's worth of clients). */
export const BURST_CONCURRENCY = 50;

export interface SimStackOptions {
  hosts: number;
  instances: number;
  /** The host index of instance i; spread evenly by default. */
  placeOn?: (i: number) => number;
  database: 'sqlite' | 'postgresql';
}

export interface SimStack {
  db: Database;
  client: Client;
  fleet: SimFleet;
  instances: SimInstance[];
  /** The control worker's settings, as its process reads them. */
  config: FerryConfig;
  controlPid: number;
  serverPid: number;
}

/** Sets the stack up, runs `body` on it, and takes it down again. */
export async function withSimStack<T>(
  options: SimStackOptions,
  body: (stack: SimStack) => Promise<T>,
): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-sim-'));
  const scratch = await scratchDatabase(options.database);
  const cleanups = new Cleanups();
  cleanups.add(async () => rmSync(dir, { recursive: true }));
  cleanups.add(() => scratch.drop());
  try {
    await migrateDatabase(scratch.url);
    const db = await openDatabase(scratch.url);
    cleanups.add(() => db.$disconnect());
    const fleet = new SimFleet();
    const instances = await populateSimFleet(db, fleet, options);
    const server = await benchDevServer(dir);
    cleanups.add(() => server.stop());
    const controlEnv = {
      FERRY_DATABASE_URL: scratch.url,
      FERRY_TEMPORAL_ADDRESS: server.address,
      FERRY_LOG_LEVEL: 'warn',
      FERRY_MAX_CONCURRENT_MIGRATIONS: String(options.instances),
      // Above BURST_CONCURRENCY: no source waits for a slot (see burstMigrations).
      FERRY_MAX_CONCURRENT_LIVE_MIGRATIONS: '64',
    };
    const control = spawn(process.execPath, controlWorkerArgs(), {
      env: controlWorkerEnv({ ...process.env, ...controlEnv }),
      // Its log (warnings and errors at this level) with this process's progress, on stderr.
      stdio: ['ignore', process.stderr, 'inherit'],
    });
    cleanups.add(() => stopChild(control));
    const workerConnection = await NativeConnection.connect({ address: server.address });
    cleanups.add(() => workerConnection.close());
    const client = new Client({
      connection: await Connection.connect({ address: server.address }),
    });
    cleanups.add(() => client.connection.close());
    const agents = await startSimAgents({
      connection: workerConnection,
      client,
      namespace: 'default',
      fleet,
      liveMigration: liveMigrationSettings(loadConfig({})),
      log: createLogger({ logLevel: 'warn', logFormat: 'json' }, 'bench'),
    });
    cleanups.add(() => agents.shutdown());
    return await body({
      db,
      client,
      fleet,
      instances,
      config: loadConfig(controlEnv),
      controlPid: control.pid as number,
      serverPid: server.process.pid as number,
    });
  } finally {
    await cleanups.run();
  }
}

export interface Outcome {
  requestedAt: number;
  completedAt: number;
  addedMs: number;
}

/** Live-migrates one instance (the scheduler choosing), waits for the workflow to end. */
export async function migrate(stack: SimStack, name: string): Promise<Outcome> {
  const requestedAt = performance.now();
  const started = await startLiveMigration(stack.db, stack.client, {
    instance: name,
    blockMigration: 'auto',
    requestedBy: 'bench',
  });
  const state = await stack.client.workflow.getHandle(started.workflowId).result();
  if ((state as { status: string }).status !== 'completed') {
    throw new Error(`${name}: the migration ended ${JSON.stringify(state)}`);
  }
  const completedAt = performance.now();
  const hostMs = stack.fleet.takeHostTime(started.instanceUuid);
  return { requestedAt, completedAt, addedMs: completedAt - requestedAt - hostMs };
}

/**
 * One migration to warm up, then every other instance at once, BURST_CONCURRENCY requests in
 * flight: migrationsPerSecond = migrations / (last completion − first request). No source (nor
 * the fleet) waits for a slot: the queue's back-off would be measured, not ferry (after the burst
 * the scheduler has stacked instances unevenly, so a per-host figure would not do).
 */
export async function burstMigrations(
  stack: SimStack,
  names: string[],
): Promise<{ outcomes: Outcome[]; migrationsPerSecond: number }> {
  const each = (name: string) => migrate(stack, name);
  await each(names[0]);
  const outcomes = await runAll(names.slice(1), each, { concurrency: BURST_CONCURRENCY });
  const first = Math.min(...outcomes.map((o) => o.requestedAt));
  const last = Math.max(...outcomes.map((o) => o.completedAt));
  return { outcomes, migrationsPerSecond: (1000 * outcomes.length) / (last - first) };
}
