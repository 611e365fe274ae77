/**
 * What ferry's orchestration costs: live migrations across simulated hosts (the `sim`
 * driver), on a Temporal dev server with persistent SQLite (the embedded default), a control
 * worker process of its own (`ferry control`) and a scratch ferry database on PostgreSQL (what a
 * fleet this size runs; `--database sqlite` for the embedded one). Per run:
 * - burst: every instance live-migrated at once (the scheduler choosing each destination);
 *   migrationsPerSecond = migrations / (last completion − first request);
 * - paced: every instance migrated again, requests at `--rate` per second; the time ferry added
 *   to each = (completion − request) − the time its simulated migration job ran. The host agents
 *   run the real host activities on the sim driver (virt/sim), whose calls count as ferry's.
 * The control worker's peak RSS (VmHWM) is read at the end of each run. Medians over `--runs`.
 * Also the scheduler among 10,000 hosts on the same database provider (bench/scheduler-fleet.ts),
 * for schedulerP95Ms.
 * `npm run bench:orchestration -- [--json] [--runs N] [--hosts N] [--migrations N] [--rate R]
 *   [--database sqlite|postgresql]`; progress on stderr, the result last on stdout.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { openDatabase, type Database } from '../db/database';
import { migrateDatabase } from '../db/migrate';
import { SimFleet } from '../virt/sim/fleet';
import { liveMigrationSettings } from '../activities/host/live-migration/settings';
import { loadConfig } from '../config';
import { startLiveMigration } from '../client/start-live-migration';
import { scratchDatabase } from '../test/support/databases';
import { freePort } from '../test/support/free-port';
import { createLogger, installTemporalRuntime } from '../config/logging';
import { startSimAgents } from '../worker/sim-agents';
import { projectRoot } from '../config/project-root';
import { startDevServer } from '../temporal/dev-server';
import { median, percentile } from '../test/support/statistics';
import { Cleanups, log, peakRssMb, positiveNumber, runAll, stopChild } from './measure';
import { benchScheduler } from './scheduler-fleet';

const GOALS = { migrationsPerSecond: 20, p50AddedMs: 250, schedulerP95Ms: 50 };
/** Nova's m1.tiny-sized guest: 512 MiB takes the sim half a second to copy. */
const FLAVOR = { id: 'sim-flavor', name: 'sim.small', vcpus: 1, memoryMiB: 512, rootDiskGiB: 1 };
/** How many requests the burst keeps in flight at once (an API tier's worth of clients). */
const BURST_CONCURRENCY = 50;

interface Options {
  runs: number;
  hosts: number;
  migrations: number;
  rate: number;
  database: 'sqlite' | 'postgresql';
}

const simHost = (i: number) => `sim${String(i).padStart(3, '0')}`;

/** Hosts big enough that capacity never refuses, and the instances spread evenly over them. */
async function populate(db: Database, fleet: SimFleet, options: Options): Promise<string[]> {
  await db.flavor.create({ data: FLAVOR });
  const hosts = Array.from({ length: options.hosts }, (_, i) => ({
    name: simHost(i),
    libvirtUri: SimFleet.uri(simHost(i)),
    arch: 'x86_64',
    hypervisorType: 'QEMU',
    hypervisorVersion: 8_002_000,
    vcpusTotal: 64,
    memoryMiBTotal: 256 * 1024,
    diskGiBTotal: 4000,
  }));
  await db.host.createMany({ data: hosts });
  hosts.forEach((host) => fleet.addHost(host.name));
  const instances = Array.from({ length: options.migrations }, (_, i) => ({
    uuid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    name: `vm${i}`,
    hostName: simHost(i % options.hosts),
    flavorId: FLAVOR.id,
  }));
  await db.instance.createMany({ data: instances });
  for (const instance of instances) {
    fleet.define(instance.hostName, {
      uuid: instance.uuid,
      name: instance.name,
      memoryMiB: FLAVOR.memoryMiB,
      vcpus: FLAVOR.vcpus,
    });
  }
  return instances.map((instance) => instance.name);
}

interface Outcome {
  requestedAt: number;
  completedAt: number;
  addedMs: number;
}

/** Live-migrates one instance (the scheduler choosing), waits for the workflow to end. */
async function migrate(
  db: Database,
  client: Client,
  fleet: SimFleet,
  name: string,
): Promise<Outcome> {
  const requestedAt = performance.now();
  const started = await startLiveMigration(db, client, {
    instance: name,
    blockMigration: 'auto',
    requestedBy: 'bench',
  });
  const state = await client.workflow.getHandle(started.workflowId).result();
  if ((state as { status: string }).status !== 'completed') {
    throw new Error(`${name}: the migration ended ${JSON.stringify(state)}`);
  }
  const completedAt = performance.now();
  const hostMs = fleet.takeHostTime(started.instanceUuid);
  return { requestedAt, completedAt, addedMs: completedAt - requestedAt - hostMs };
}

interface RunResult {
  migrationsPerSecond: number;
  burstP50Ms: number;
  p50AddedMs: number;
  p95AddedMs: number;
  peakRssMb: number;
}

async function benchRun(options: Options, run: number): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-orchestration-'));
  const scratch = await scratchDatabase(options.database);
  const cleanups = new Cleanups();
  cleanups.add(async () => rmSync(dir, { recursive: true }));
  cleanups.add(() => scratch.drop());
  try {
    await migrateDatabase(scratch.url);
    const db = await openDatabase(scratch.url);
    cleanups.add(() => db.$disconnect());
    const fleet = new SimFleet();
    const names = await populate(db, fleet, options);
    const server = await startDevServer({
      ip: '127.0.0.1',
      port: await freePort(),
      namespace: 'default',
      dbFilename: join(dir, 'temporal.db'),
      logFile: join(dir, 'temporal.log'),
    });
    cleanups.add(() => server.stop());
    const control = spawn(
      process.execPath,
      [join(projectRoot(), 'dist', 'cli', 'main.js'), 'control'],
      {
        env: {
          ...process.env,
          FERRY_DATABASE_URL: scratch.url,
          FERRY_TEMPORAL_ADDRESS: server.address,
          FERRY_LOG_LEVEL: 'warn',
          FERRY_MAX_CONCURRENT_MIGRATIONS: String(options.migrations),
          // Above BURST_CONCURRENCY: no source waits for a slot (see the burst below).
          FERRY_MAX_CONCURRENT_LIVE_MIGRATIONS: '64',
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
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
    // No source (nor the fleet) should wait for a slot: the queue's back-off would be measured, not ferry (after
    // the burst the scheduler has stacked instances unevenly, so a per-host figure would not do).
    const each = (name: string) => migrate(db, client, fleet, name);

    await each(names[0]);
    const burst = await runAll(names.slice(1), each, { concurrency: BURST_CONCURRENCY });
    const first = Math.min(...burst.map((o) => o.requestedAt));
    const last = Math.max(...burst.map((o) => o.completedAt));
    const migrationsPerSecond = (1000 * burst.length) / (last - first);
    log(`run ${run}: burst of ${burst.length} at ${migrationsPerSecond.toFixed(1)}/s`);

    const paced = await runAll(names, each, { rate: options.rate });
    const added = paced.map((o) => o.addedMs);
    const result = {
      migrationsPerSecond: Math.round(migrationsPerSecond * 10) / 10,
      burstP50Ms: Math.round(median(burst.map((o) => o.completedAt - o.requestedAt))),
      p50AddedMs: Math.round(percentile(added, 50)),
      p95AddedMs: Math.round(percentile(added, 95)),
      peakRssMb: peakRssMb(control.pid as number),
    };
    log(`run ${run}: ${JSON.stringify(result)}`);
    return result;
  } finally {
    await cleanups.run();
  }
}

function parseOptions(): Options & { json: boolean } {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      runs: { type: 'string', default: '3' },
      hosts: { type: 'string', default: '50' },
      migrations: { type: 'string', default: '500' },
      rate: { type: 'string', default: String(GOALS.migrationsPerSecond) },
      database: { type: 'string', default: 'postgresql' },
    },
  });
  if (values.database !== 'sqlite' && values.database !== 'postgresql') {
    throw new Error(`--database: sqlite or postgresql, not ${values.database}`);
  }
  return {
    json: values.json as boolean,
    runs: positiveNumber('runs', values.runs),
    hosts: positiveNumber('hosts', values.hosts),
    migrations: positiveNumber('migrations', values.migrations),
    rate: positiveNumber('rate', values.rate),
    database: values.database,
  };
}

async function main(): Promise<void> {
  const options = parseOptions();
  // Errors only: the SDK warns once per activity-only worker, and stdout carries the result.
  installTemporalRuntime(createLogger({ logLevel: 'error', logFormat: 'json' }, 'bench'));
  const runs: RunResult[] = [];
  for (let run = 1; run <= options.runs; run += 1) runs.push(await benchRun(options, run));
  const scheduler = await benchScheduler(options.database, { pure: 20, db: 20 });
  const pick = (key: keyof RunResult) => median(runs.map((r) => r[key]));
  const result = {
    runs: options.runs,
    hosts: options.hosts,
    migrations: options.migrations,
    pacedRate: options.rate,
    database: options.database,
    migrationsPerSecond: pick('migrationsPerSecond'),
    burstP50Ms: pick('burstP50Ms'),
    p50AddedMs: pick('p50AddedMs'),
    p95AddedMs: pick('p95AddedMs'),
    peakRssMb: pick('peakRssMb'),
    schedulerP95Ms: scheduler.db.p95Ms,
    perRun: runs,
    goals: GOALS,
  };
  process.stdout.write(
    options.json ? `${JSON.stringify(result)}\n` : `${JSON.stringify(result, null, 2)}\n`,
  );
}

main().catch((error: unknown) => {
  let cause = '';
  for (let e = error instanceof Error ? error.cause : undefined; e; e = (e as Error).cause) {
    const activity = (e as { activityType?: string }).activityType;
    cause += `\ncaused by: ${String(e)}${activity ? ` (activity ${activity})` : ''}`;
  }
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}${cause}\n`);
  process.exit(1);
});
