/**
 * Temporal's own floor for ferry's orchestration (bench/floor-stack.ts says what it runs).
 * Burst (all at once, 50 in flight) gives workflowsPerSecond and the CPU time per workflow of
 * the workflow worker, the server and the host queues' workers; paced at `--rate` per second gives
 * p50Ms/p95Ms, the whole time of a workflow that does nothing. Medians over `--runs`.
 * `npm run bench:floor -- [--json] [--runs N] [--hosts N] [--workflows N] [--rate R]`.
 */
import { parseArgs } from 'node:util';
import { median } from '../test/support/statistics';
import { floorRun, recordedShape, type FloorResult } from './floor-stack';
import { log, positiveNumber } from './measure';

interface Options {
  runs: number;
  hosts: number;
  workflows: number;
  rate: number;
}

function parseOptions(): Options & { json: boolean } {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      runs: { type: 'string', default: '3' },
      hosts: { type: 'string', default: '50' },
      workflows: { type: 'string', default: '500' },
      rate: { type: 'string', default: '2' },
    },
  });
  return {
    json: values.json as boolean,
    runs: positiveNumber('runs', values.runs),
    hosts: positiveNumber('hosts', values.hosts),
    workflows: positiveNumber('workflows', values.workflows),
    rate: positiveNumber('rate', values.rate),
  };
}

async function main(): Promise<void> {
  const options = parseOptions();
  const shape = recordedShape();
  const runs: FloorResult[] = [];
  for (let run = 1; run <= options.runs; run += 1) runs.push(await floorRun(options, run));
  const pick = (key: keyof FloorResult) => median(runs.map((r) => r[key] ?? NaN));
  const result = {
    runs: options.runs,
    hosts: options.hosts,
    workflows: options.workflows,
    pacedRate: options.rate,
    localActivities: shape.filter((step) => step === 'local').length,
    activities: shape.filter((step) => step !== 'local').length,
    workflowsPerSecond: pick('workflowsPerSecond'),
    workerCpuMsPerWorkflow: pick('workerCpuMsPerWorkflow'),
    serverCpuMsPerWorkflow: pick('serverCpuMsPerWorkflow'),
    hostsCpuMsPerWorkflow: pick('hostsCpuMsPerWorkflow'),
    p50Ms: pick('p50Ms'),
    p95Ms: pick('p95Ms'),
    perRun: runs,
  };
  process.stdout.write(
    options.json ? `${JSON.stringify(result)}\n` : `${JSON.stringify(result, null, 2)}\n`,
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
