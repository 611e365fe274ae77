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
 * The control worker's peak RSS (VmHWM) is read at the end of each run. Each run also bursts
 * Temporal's floor (bench/floor-stack.ts: as many workflows of a migration's shape doing nothing,
 * over as many host queues) first, on a server of its own: floorMigrationsPerSecond, and
 * ratioToFloor = migrationsPerSecond / floorMigrationsPerSecond, both measured under the same load
 * of the machine. Medians over `--runs`.
 * Also the scheduler among 10,000 hosts on the same database provider (bench/scheduler-fleet.ts),
 * for schedulerP95Ms.
 * `npm run bench:orchestration -- [--json] [--runs N] [--hosts N] [--migrations N] [--rate R]
 *   [--database sqlite|postgresql]`; progress on stderr, the result last on stdout.
 */
import { parseArgs } from 'node:util';
import { createLogger, installTemporalRuntime } from '../config/logging';
import { median, percentile } from '../test/support/statistics';
import { floorRun } from './floor-stack';
import { cpuMs, log, ownCpuMs, peakRssMb, positiveNumber, runAll } from './measure';
import { benchScheduler } from './scheduler-fleet';
import { burstMigrations, migrate, withSimStack } from './sim-stack';

const GOALS = { ratioToFloor: 0.75, p50AddedMs: 250, peakRssMb: 400, schedulerP95Ms: 50 };

interface Options {
  runs: number;
  hosts: number;
  migrations: number;
  rate: number;
  database: 'sqlite' | 'postgresql';
}

interface RunResult {
  floorMigrationsPerSecond: number;
  migrationsPerSecond: number;
  ratioToFloor: number;
  /**
   * CPU time over the burst per migration: the control worker's, the dev server's and this
   * process's (the sim agents, and each request's start as the API makes it); the floor's
   * workflow worker, server and host queues' workers beside them.
   */
  controlCpuMsPerMigration: number;
  serverCpuMsPerMigration: number;
  agentsCpuMsPerMigration: number;
  floorCpuMsPerMigration: number;
  floorServerCpuMsPerMigration: number;
  floorHostsCpuMsPerMigration: number;
  burstP50Ms: number;
  p50AddedMs: number;
  p95AddedMs: number;
  peakRssMb: number;
}

async function benchRun(options: Options, run: number): Promise<RunResult> {
  const floor = await floorRun({ hosts: options.hosts, workflows: options.migrations }, run);
  const setup = { ...options, instances: options.migrations };
  return withSimStack(setup, async (stack) => {
    const names = stack.instances.map((instance) => instance.name);
    const cpu = () => [cpuMs(stack.controlPid), cpuMs(stack.serverPid), ownCpuMs()];
    const cpuBefore = cpu();
    const burst = await burstMigrations(stack, names);
    const [controlCpuMs, serverCpuMs, agentsCpuMs] = cpu().map((ms, i) =>
      Math.round((ms - cpuBefore[i]) / names.length),
    );
    log(
      `run ${run}: burst of ${burst.outcomes.length} at ${burst.migrationsPerSecond.toFixed(1)}/s`,
    );

    const paced = await runAll(names, (name) => migrate(stack, name), { rate: options.rate });
    const added = paced.map((o) => o.addedMs);
    const result = {
      floorMigrationsPerSecond: floor.workflowsPerSecond,
      migrationsPerSecond: Math.round(burst.migrationsPerSecond * 10) / 10,
      ratioToFloor: Math.round((100 * burst.migrationsPerSecond) / floor.workflowsPerSecond) / 100,
      controlCpuMsPerMigration: controlCpuMs,
      serverCpuMsPerMigration: serverCpuMs,
      agentsCpuMsPerMigration: agentsCpuMs,
      floorCpuMsPerMigration: floor.workerCpuMsPerWorkflow,
      floorServerCpuMsPerMigration: floor.serverCpuMsPerWorkflow,
      floorHostsCpuMsPerMigration: floor.hostsCpuMsPerWorkflow,
      burstP50Ms: Math.round(median(burst.outcomes.map((o) => o.completedAt - o.requestedAt))),
      p50AddedMs: Math.round(percentile(added, 50)),
      p95AddedMs: Math.round(percentile(added, 95)),
      peakRssMb: peakRssMb(stack.controlPid),
    };
    log(`run ${run}: ${JSON.stringify(result)}`);
    return result;
  });
}

function parseOptions(): Options & { json: boolean } {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      runs: { type: 'string', default: '3' },
      hosts: { type: 'string', default: '50' },
      migrations: { type: 'string', default: '500' },
      rate: { type: 'string', default: '2' },
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
    floorMigrationsPerSecond: pick('floorMigrationsPerSecond'),
    migrationsPerSecond: pick('migrationsPerSecond'),
    ratioToFloor: pick('ratioToFloor'),
    controlCpuMsPerMigration: pick('controlCpuMsPerMigration'),
    serverCpuMsPerMigration: pick('serverCpuMsPerMigration'),
    agentsCpuMsPerMigration: pick('agentsCpuMsPerMigration'),
    floorCpuMsPerMigration: pick('floorCpuMsPerMigration'),
    floorServerCpuMsPerMigration: pick('floorServerCpuMsPerMigration'),
    floorHostsCpuMsPerMigration: pick('floorHostsCpuMsPerMigration'),
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
