/**
 * What a host drain costs against moving the same instances without one (docs/drain.md):
 * - sim: a host holding 1,000 running instances drained onto 19 other sim hosts (bench/sim-stack.ts:
 *   the real control worker process, workflows and host activities on the sim driver, PostgreSQL),
 *   started as a user starts it (startDrain) with BURST_CONCURRENCY moves at once, against
 *   bench:orchestration's burst of as many live migrations (as many in flight) on a stack set up
 *   the same way, in the same run, which goes first alternating. instancesPerSecond = instances /
 *   (drain's end − its request); ratio = instancesPerSecond / burstMigrationsPerSecond, goal ≥ 0.8.
 *   Also the drain's workflow runs (continue-as-new) and the most events one run's history held.
 * - lab: a lab host (of 3) running 4 guests drained at concurrency 2 (the control worker's
 *   max_concurrent_live_migrations 2, so the source's slots do not hold it to 1), against the same
 *   four moves to the same destinations by hand, `virsh migrate --live --p2p --persistent
 *   --undefinesource` (bench:lab's by-hand migration) in two parallel lanes; ratio = drain / by
 *   hand, goal ≤ 1.15. Between the two, and after, the guests go back to the host by hand, untimed.
 * Medians over `--runs`. Progress on stderr, the result last on stdout. The lab row takes the
 * machine's lab: run it under `flock /tmp/ferry-lab.lock`.
 * `npm run bench:drain -- [--json] [--runs N] [--only sim|lab]`
 */
import { parseArgs } from 'node:util';
import { startDrain, undrainHost } from '../client/drain';
import { createLogger, installTemporalRuntime } from '../config/logging';
import { bootLabInstance } from '../lab/fleet';
import type { LabHost } from '../lab/state';
import type { DrainState } from '../workflows/drain-contract';
import { historyEventsPerRun } from '../test/support/drain-runs';
import { simHostName } from '../test/support/sim-fleet';
import { median } from '../test/support/statistics';
import { counting, virshLiveMigrate, withLabStack, type LabBench } from './lab-stack';
import { log, positiveNumber, runAll } from './measure';
import { BURST_CONCURRENCY, burstMigrations, withSimStack, type SimStack } from './sim-stack';

const GOALS = { simRatio: 0.8, labRatio: 1.15 };
const SIM = { hosts: 20, instances: 1000, database: 'postgresql' as const };
const LAB = { hosts: 3, source: 'host1', guests: ['drain1', 'drain2', 'drain3', 'drain4'] };
const LAB_CONCURRENCY = 2;

const round = (value: number, places = 2) => Math.round(value * 10 ** places) / 10 ** places;

/** Starts the drain of `host` as the CLI and API do and waits for its end, which must be completed. */
async function drainHost(
  bench: Pick<SimStack, 'db' | 'client' | 'config'>,
  host: string,
  concurrency: number,
): Promise<{ ms: number; workflowId: string; state: DrainState }> {
  const started = performance.now();
  const drain = await startDrain(bench.db, bench.client, bench.config, {
    host,
    concurrency,
    requestedBy: 'bench',
  });
  const state = (await bench.client.workflow.getHandle(drain.workflowId).result()) as DrainState;
  const ms = performance.now() - started;
  if (state.status !== 'completed') {
    const unmoved = state.items.filter((item) => item.state !== 'moved');
    throw new Error(`the drain of ${host} ended ${state.status}: ${JSON.stringify(unmoved)}`);
  }
  return { ms, workflowId: drain.workflowId, state };
}

interface SimRun {
  instancesPerSecond: number;
  burstMigrationsPerSecond: number;
  ratio: number;
  historyEventsPerRun: number;
  runs: number;
}

async function simDrain(stack: SimStack) {
  const source = simHostName(0);
  const drain = await drainHost(stack, source, BURST_CONCURRENCY);
  if (stack.fleet.on(source).size > 0) throw new Error(`the drain left domains on ${source}`);
  const events = await historyEventsPerRun(stack.client, drain.workflowId);
  log(`drain: ${SIM.instances} in ${round(drain.ms / 1000, 1)} s, events per run ${events}`);
  return {
    instancesPerSecond: (1000 * SIM.instances) / drain.ms,
    historyEventsPerRun: Math.max(...events),
    runs: events.length,
  };
}

async function simBurst(stack: SimStack): Promise<number> {
  const burst = await burstMigrations(
    stack,
    stack.instances.map((instance) => instance.name),
  );
  log(`burst: ${burst.outcomes.length} at ${round(burst.migrationsPerSecond, 1)}/s`);
  return burst.migrationsPerSecond;
}

async function simRun(run: number): Promise<SimRun> {
  const drain = () => withSimStack({ ...SIM, placeOn: () => 0 }, simDrain);
  const burst = () => withSimStack(SIM, simBurst);
  let drained: Awaited<ReturnType<typeof simDrain>>;
  let burstRate: number;
  if (run % 2 === 1) {
    burstRate = await burst();
    drained = await drain();
  } else {
    drained = await drain();
    burstRate = await burst();
  }
  const result = {
    instancesPerSecond: round(drained.instancesPerSecond, 1),
    burstMigrationsPerSecond: round(burstRate, 1),
    ratio: round(drained.instancesPerSecond / burstRate),
    historyEventsPerRun: drained.historyEventsPerRun,
    runs: drained.runs,
  };
  log(`sim run ${run}: ${JSON.stringify(result)}`);
  return result;
}

/** Every guest not on the lab's source host moved back there by hand (untimed). */
async function backToSource(bench: LabBench): Promise<void> {
  const source = bench.hosts[LAB.source];
  for (const guest of LAB.guests) {
    const row = await bench.db.instance.findUniqueOrThrow({ where: { name: guest } });
    if (row.hostName === source.name) continue;
    await virshLiveMigrate(bench, guest, bench.hosts[row.hostName], source);
    await counting(source, guest);
  }
  await undrainHost(bench.db, bench.client, bench.config, {
    host: source.name,
    moveBack: false,
    requestedBy: 'bench',
  });
}

async function labRun(bench: LabBench, run: number) {
  const drain = await drainHost(bench, LAB.source, LAB_CONCURRENCY);
  const destinations = new Map(
    drain.state.items.map((item) => [item.instanceName, bench.hosts[item.destHost as string]]),
  );
  for (const [guest, host] of destinations) await counting(host, guest);
  await backToSource(bench);

  const source = bench.hosts[LAB.source];
  const started = performance.now();
  await runAll(
    LAB.guests,
    (guest) => virshLiveMigrate(bench, guest, source, destinations.get(guest) as LabHost),
    { concurrency: LAB_CONCURRENCY },
  );
  const byHandMs = performance.now() - started;
  for (const [guest, host] of destinations) await counting(host, guest);
  await backToSource(bench);

  const result = {
    drainSeconds: round(drain.ms / 1000),
    byHandSeconds: round(byHandMs / 1000),
    destinations: Object.fromEntries([...destinations].map(([guest, host]) => [guest, host.name])),
  };
  log(`lab run ${run}: ${JSON.stringify(result)}`);
  return result;
}

async function labRows(runs: number) {
  const env = { FERRY_MAX_CONCURRENT_LIVE_MIGRATIONS: String(LAB_CONCURRENCY) };
  return withLabStack(LAB.hosts, env, async (bench) => {
    for (const name of LAB.guests) {
      await bootLabInstance(bench.config, { name, host: LAB.source });
    }
    for (const name of LAB.guests) await counting(bench.hosts[LAB.source], name);
    const perRun = [];
    for (let run = 1; run <= runs; run += 1) perRun.push(await labRun(bench, run));
    return perRun;
  });
}

function parseOptions() {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      runs: { type: 'string', default: '3' },
      only: { type: 'string' },
    },
  });
  if (values.only !== undefined && values.only !== 'sim' && values.only !== 'lab') {
    throw new Error(`--only: sim or lab, not ${values.only}`);
  }
  return {
    json: values.json as boolean,
    runs: positiveNumber('runs', values.runs),
    only: values.only as 'sim' | 'lab' | undefined,
  };
}

async function main(): Promise<void> {
  const options = parseOptions();
  const result: Record<string, unknown> = { runs: options.runs };
  if (options.only !== 'lab') {
    // Errors only: the SDK warns once per activity-only worker, and stdout carries the result.
    // Not for the lab alone: a Temporal runtime no worker ever used keeps the process alive.
    installTemporalRuntime(createLogger({ logLevel: 'error', logFormat: 'json' }, 'bench'));
    const perRun: SimRun[] = [];
    for (let run = 1; run <= options.runs; run += 1) perRun.push(await simRun(run));
    const pick = (key: keyof SimRun) => median(perRun.map((r) => r[key]));
    const instancesPerSecond = pick('instancesPerSecond');
    const burstMigrationsPerSecond = pick('burstMigrationsPerSecond');
    result.sim = {
      ...SIM,
      concurrency: BURST_CONCURRENCY,
      instancesPerSecond,
      burstMigrationsPerSecond,
      ratio: round(instancesPerSecond / burstMigrationsPerSecond),
      goalRatio: GOALS.simRatio,
      historyEventsPerRun: Math.max(...perRun.map((r) => r.historyEventsPerRun)),
      runs: pick('runs'),
      perRun,
    };
  }
  if (options.only !== 'sim') {
    const perRun = await labRows(options.runs);
    const drainSeconds = median(perRun.map((r) => r.drainSeconds));
    const byHandSeconds = median(perRun.map((r) => r.byHandSeconds));
    result.lab = {
      hosts: LAB.hosts,
      guests: LAB.guests.length,
      concurrency: LAB_CONCURRENCY,
      drainSeconds,
      byHandSeconds,
      ratio: round(drainSeconds / byHandSeconds),
      goalRatio: GOALS.labRatio,
      perRun,
    };
  }
  process.stdout.write(
    options.json ? `${JSON.stringify(result)}\n` : `${JSON.stringify(result, null, 2)}\n`,
  );
}

main().catch((error: unknown) => {
  const lines: string[] = [];
  for (let e: unknown = error; e !== undefined; e = e instanceof Error ? e.cause : undefined) {
    lines.push(e instanceof Error ? (e.stack ?? e.message) : String(e));
  }
  process.stderr.write(`${lines.join('\ncaused by: ')}\n`);
  process.exit(1);
});
