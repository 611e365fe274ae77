/**
 * Metrics end to end on the lab: scrape the API's and the control worker's `/metrics`, live-migrate
 * a guest through the `ferry` CLI, scrape again. The fleet's figures come from the database, so
 * both endpoints show the migration once it ended; the workers' endpoints carry the Temporal
 * SDK's metrics too.
 */
import type { Server } from 'node:http';
import { createApiServer, listen } from '../../api/server';
import { createLogger } from '../../config/logging';
import { runInHost } from '../../lab/command';
import { bootLabInstance } from '../../lab/fleet';
import { ferry } from '../support/ferry-cli';
import { freePort } from '../support/free-port';
import { canRunLab } from '../support/lab';
import { useLabStack } from '../support/lab-stack';
import { parseSamples, scrape, valueOf, type Samples } from '../support/metrics-text';

const describeLab = canRunLab ? describe : describe.skip;

/** Each agent serves its /metrics on this port inside its own host's network namespace. */
const AGENT_METRICS_PORT = '9776';

describeLab('metrics on the lab', () => {
  // Filled in before the stack starts its control worker (this hook is registered first).
  const controlEnv: Record<string, string> = {};
  beforeAll(async () => {
    controlEnv.FERRY_METRICS_PORT = String(await freePort());
  });
  const stack = useLabStack({
    name: 'metrics',
    env: controlEnv,
    agentEnv: { FERRY_AGENT_METRICS_PORT: AGENT_METRICS_PORT },
  });
  let api: Server;
  let apiPort: number;

  beforeAll(async () => {
    api = createApiServer(
      stack.config,
      stack.db,
      stack.temporal,
      createLogger({ logLevel: 'error', logFormat: 'json' }, 'api'),
    );
    apiPort = await listen(api, '127.0.0.1', 0);
  });

  afterAll(async () => {
    await new Promise((resolve) => api?.close(resolve));
  });

  const scrapeApi = async (): Promise<Samples> => {
    const { status, text } = await scrape('127.0.0.1', apiPort);
    expect(status).toBe(200);
    return parseSamples(text);
  };
  const scrapeControl = async () => {
    const { status, text } = await scrape('127.0.0.1', Number(controlEnv.FERRY_METRICS_PORT));
    expect(status).toBe(200);
    return parseSamples(text);
  };
  const live = { type: 'live-migration' };
  const completed = { type: 'live-migration', status: 'completed' };

  it('a live migration moves the counters by exactly one and leaves nothing in progress', async () => {
    await bootLabInstance(stack.config, { name: 'alpha', host: 'host1' });
    await stack.counting('host1', 'alpha');
    const before = await scrapeApi();
    expect(valueOf(before, 'ferry_migrations_in_progress', live)).toBe(0);

    const migrated = await ferry(
      ['live-migrate', 'alpha', '--host', 'host2', '--wait', '--json'],
      stack.env,
    );
    expect({ code: migrated.code, stderr: migrated.stderr }).toEqual({ code: 0, stderr: '' });

    const after = await scrapeApi();
    // The scrape before and after, for the record: every live-migration series that moved.
    const shown = [...after].filter(
      ([key, value]) =>
        key.startsWith('ferry_') && !key.includes('_bucket{') && value !== (before.get(key) ?? 0),
    );
    console.log(
      shown.map(([key, value]) => `${key} ${before.get(key) ?? 0} -> ${value}`).join('\n'),
    );
    const moved = (name: string, labels: Record<string, string> = {}) =>
      valueOf(after, name, labels) - valueOf(before, name, labels);
    expect(moved('ferry_migrations_total', completed)).toBe(1);
    expect(moved('ferry_migration_duration_seconds_count', live)).toBe(1);
    expect(moved('ferry_live_migration_downtime_milliseconds_count')).toBe(1);
    expect(valueOf(after, 'ferry_migrations_in_progress', live)).toBe(0);
    const [row] = (await stack.instance('alpha')).migrations;
    expect(moved('ferry_migration_data_processed_bytes_total', { kind: 'memory' })).toBe(
      Number(row.memoryProcessedBytes),
    );
    expect(Number(row.memoryProcessedBytes)).toBeGreaterThan(0);

    // The control worker reads the same rows: it agrees with the API.
    const control = await scrapeControl();
    expect(valueOf(control, 'ferry_migrations_total', completed)).toBe(
      valueOf(after, 'ferry_migrations_total', completed),
    );
  });

  it("serves the Temporal SDK's worker metrics on the control worker's and the agents' ports", async () => {
    const control = await scrapeControl();
    const names = [...control.keys()].map((key) => key.split('{')[0]);
    expect(names).toEqual(
      expect.arrayContaining([
        'temporal_worker_task_slots_available',
        'temporal_sticky_cache_size',
        'temporal_workflow_task_schedule_to_start_latency_bucket',
        'ferry_migrations_total',
        'process_cpu_user_seconds_total',
      ]),
    );

    const agentText = await runInHost(stack.host('host1'), [
      'curl',
      '-sf',
      `http://127.0.0.1:${AGENT_METRICS_PORT}/metrics`,
    ]);
    const agent = parseSamples(agentText);
    const agentNames = [...agent.keys()].map((key) => key.split('{')[0]);
    expect(agentNames).toEqual(
      expect.arrayContaining([
        'temporal_worker_task_slots_available',
        'ferry_disk_copy_bytes_total',
      ]),
    );
    // An agent holds no database: no fleet figures there.
    expect(agentNames).not.toContain('ferry_migrations_total');
  });
});
