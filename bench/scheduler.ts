/**
 * ferry's scheduler choosing a destination among 10,000 hosts (goal: p95 ≤ 50 ms), in three
 * variants over one generated fleet:
 * - pure: filterHosts + weighHosts over the HostStates in memory;
 * - sqlite: the selectDestinations control activity against a scratch SQLite database;
 * - postgresql: the same against a scratch database on the local PostgreSQL server.
 * Each variant runs once untimed first. Prints progress on stderr and, last, one JSON line.
 * `npm run bench:scheduler -- [--runs N] [--db-runs N] [--skip-postgres]`
 */
import { parseArgs } from 'node:util';
import {
  benchScheduler,
  GOAL_P95_MS,
  HOSTS,
  INCOMING_CLAIMS,
  INSTANCES,
  SAME_HOST_CLAIMS,
} from './scheduler-fleet';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '200' },
      'db-runs': { type: 'string', default: '50' },
      'skip-postgres': { type: 'boolean', default: false },
    },
  });
  const runs = { pure: Number(values.runs), db: Number(values['db-runs']) };
  for (const [option, value] of [
    ['--runs', runs.pure],
    ['--db-runs', runs.db],
  ] as const) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`${option}: a positive integer`);
  }
  const sqlite = await benchScheduler('sqlite', runs);
  const postgresql = values['skip-postgres'] ? undefined : await benchScheduler('postgresql', runs);
  const result = {
    hosts: HOSTS,
    instances: INSTANCES,
    claims: INCOMING_CLAIMS + SAME_HOST_CLAIMS,
    variants: {
      pure: sqlite.pure,
      sqlite: sqlite.db,
      ...(postgresql && { postgresql: postgresql.db }),
    },
    schedulerP95Ms: sqlite.db.p95Ms,
    goalP95Ms: GOAL_P95_MS,
    meetsGoal: sqlite.db.p95Ms <= GOAL_P95_MS,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
