import { NativeConnection, Worker } from '@temporalio/worker';
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { projectRoot } from '../../config/project-root';
import { openDatabase, type Database } from '../../db/database';
import type { HypervisorInfo } from '../../workflows/refresh-hosts-contract';
import { hostTaskQueue } from '../../workflows/task-queues';
import { ferry } from '../support/ferry-cli';
import { freePort } from '../support/free-port';
import type { SqliteProcessReply, SqliteProcessRequest } from '../support/sqlite-process';
import { controlWorkerArgs, controlWorkerEnv } from '../../worker/control-process';

const WRITERS = 4;
const LANES = 8;
/** Each cycle: a create with its read-after-write, a read in another writer, the API, this test. */
const CYCLES = 2000;
const REFRESH_ROUNDS = 4;

type Request = SqliteProcessRequest extends infer R
  ? R extends { seq: number }
    ? Omit<R, 'seq'>
    : never
  : never;

interface Writer {
  /** The flavor it wrote once open. */
  seed: string;
  ask(request: Request): Promise<SqliteProcessReply>;
  process: ChildProcess;
}

function startWriter(env: NodeJS.ProcessEnv, log: number): Promise<Writer> {
  const child = fork(join(projectRoot(), 'dist', 'test', 'support', 'sqlite-process.js'), {
    env: { ...process.env, ...env },
    execArgv: ['--expose-gc'],
    stdio: ['ignore', log, log, 'ipc'],
  });
  const pending = new Map<number, (reply: SqliteProcessReply) => void>();
  let seq = 0;
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`writer exited with ${code}`)));
    child.on('message', (message: { ready: string } | SqliteProcessReply) => {
      if ('ready' in message) {
        resolve({
          seed: message.ready,
          process: child,
          ask: (request) =>
            new Promise((answered) => {
              seq += 1;
              pending.set(seq, answered);
              child.send({ ...request, seq });
            }),
        });
        return;
      }
      pending.get(message.seq)?.(message);
      pending.delete(message.seq);
    });
  });
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(10_000)]);
  child.kill('SIGKILL');
}

/**
 * The control worker, the API, the CLI and several writer processes on one SQLite file, each
 * reading at once what another just committed (docs/database.md, "Several processes on one
 * SQLite file").
 */
describe('one SQLite file under several processes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-sqlite-processes-'));
  const env = {
    FERRY_DATA_DIR: dir,
    FERRY_DATABASE_URL: `file:${join(dir, 'ferry.db')}`,
    FERRY_TEMPORAL_ADDRESS: process.env.FERRY_TEST_TEMPORAL_ADDRESS,
    FERRY_API_TOKENS: '',
    FERRY_LOG_LEVEL: 'warn',
    FERRY_LOG_FORMAT: 'json',
  };
  const log = openSync(join(dir, 'processes.log'), 'a');
  let db: Database;
  const writers: Writer[] = [];
  let api: ChildProcess;
  let control: ChildProcess;
  let apiPort: number;

  beforeAll(async () => {
    // One at a time: the first migrates and writes while no other process has the file open.
    for (let i = 0; i < WRITERS; i += 1) writers.push(await startWriter(env, log));
    db = await openDatabase(env.FERRY_DATABASE_URL);
    const main = join(projectRoot(), 'dist', 'cli', 'main.js');
    control = spawn(process.execPath, controlWorkerArgs(), {
      env: controlWorkerEnv({ ...process.env, ...env }),
      stdio: ['ignore', log, log],
    });
    apiPort = await freePort();
    api = spawn(process.execPath, [main, 'api'], {
      env: { ...process.env, ...env, FERRY_API_PORT: String(apiPort) },
      stdio: ['ignore', log, log],
    });
    for (let attempt = 0; ; attempt += 1) {
      const up = await fetch(`http://127.0.0.1:${apiPort}/`).then(
        (response) => response.ok,
        () => false,
      );
      if (up) break;
      if (attempt === 300) throw new Error('the API did not come up');
      await sleep(100);
    }
  });

  afterAll(async () => {
    await Promise.all([stop(api), stop(control), ...writers.map((w) => stop(w.process))]);
    await db.$disconnect();
    closeSync(log);
    rmSync(dir, { recursive: true, force: true });
  });

  it('sees every committed row in every process, with no error, over 10,000 operations', async () => {
    const failures: string[] = [];
    let operations = 0;
    let done = false;
    const apiStatus = async (path: string) => {
      operations += 1;
      const response = await fetch(`http://127.0.0.1:${apiPort}/v2.1${path}`);
      return { status: response.status, body: (await response.json()) as unknown };
    };
    const ask = async (writer: number, request: Request, expected: SqliteProcessReply['row']) => {
      operations += request.op.startsWith('create') ? 2 : 1;
      const reply = await writers[writer % WRITERS].ask(request);
      if (reply.error !== undefined) failures.push(`writer ${writer % WRITERS}: ${reply.error}`);
      else if (JSON.stringify(reply.row) !== JSON.stringify(expected)) {
        failures.push(`writer ${writer % WRITERS} ${request.op}: ${JSON.stringify(reply.row)}`);
      }
    };
    const confirmed: string[] = [];

    const cycle = async (i: number) => {
      const id = `f-${i}`;
      await ask(i, { op: 'createFlavor', id }, { key: id });
      await ask(i + 1, { op: 'readFlavor', id }, { key: id });
      const viaApi = await apiStatus(`/flavors/${id}`);
      if (viaApi.status !== 200) failures.push(`API GET /flavors/${id}: ${viaApi.status}`);
      operations += 1;
      if ((await db.flavor.findUnique({ where: { id } })) === null) {
        failures.push(`this test does not see ${id}`);
      }
      confirmed.push(id);
    };
    const cycles = async (lane: number) => {
      for (let i = lane; i < CYCLES; i += LANES) await cycle(i);
    };

    const cli = async () => {
      for (let k = 0; !done; k += 1) {
        const id = `cli-${k}`;
        const listedBefore = [...confirmed];
        operations += 2;
        const size = ['--vcpus', '1', '--memory-mb', '64', '--disk-gb', '1'];
        const created = await ferry(['flavors', 'create', id, ...size], env);
        if (created.code !== 0) failures.push(`ferry flavors create ${id}: ${created.stderr}`);
        const list = await ferry(['flavors', 'list', '--json'], env);
        if (list.code !== 0) failures.push(`ferry flavors list: ${list.stderr}`);
        else {
          const listed = new Set((JSON.parse(list.stdout) as { id: string }[]).map((f) => f.id));
          const missing = [id, ...listedBefore].filter((known) => !listed.has(known));
          if (missing.length > 0) failures.push(`ferry flavors list misses ${missing.join(' ')}`);
        }
        await ask(k, { op: 'readFlavor', id }, { key: id });
        const viaApi = await apiStatus(`/flavors/${id}`);
        if (viaApi.status !== 200) failures.push(`API GET /flavors/${id}: ${viaApi.status}`);
      }
    };

    // The control worker reads the host rows a writer just added and writes their inventory.
    const connection = await NativeConnection.connect({ address: env.FERRY_TEMPORAL_ADDRESS });
    const agents: { worker: Worker; running: Promise<void> }[] = [];
    const refreshes = async () => {
      for (let round = 0; round < REFRESH_ROUNDS; round += 1) {
        const name = `stress-${round}`;
        await ask(round, { op: 'createHost', name }, { key: name, vcpusTotal: 0 });
        const info: HypervisorInfo = {
          arch: 'x86_64',
          hypervisorType: 'QEMU',
          hypervisorVersion: 8002000,
          cpuModel: 'stress',
          vcpus: 100 + round,
          memoryMiB: 1024,
        };
        const worker = await Worker.create({
          connection,
          taskQueue: hostTaskQueue(name),
          activities: { describeHypervisor: () => Promise.resolve(info) },
        });
        agents.push({ worker, running: worker.run() });
        operations += 1;
        const refreshed = await ferry(['hosts', 'refresh', '--json'], env);
        const result = JSON.parse(refreshed.stdout || '{}') as {
          refreshed?: { host: string }[];
          failed?: unknown[];
        };
        const hosts = (result.refreshed ?? []).map((inventory) => inventory.host).sort();
        const expected = Array.from({ length: round + 1 }, (_, r) => `stress-${r}`);
        if (JSON.stringify(hosts) !== JSON.stringify(expected) || result.failed?.length) {
          failures.push(`ferry hosts refresh: ${refreshed.stdout} ${refreshed.stderr}`);
        }
        await ask(round + 1, { op: 'readHost', name }, { key: name, vcpusTotal: 100 + round });
        const viaApi = await apiStatus('/os-hypervisors/detail');
        const { hypervisors } = viaApi.body as {
          hypervisors: { hypervisor_hostname: string; vcpus: number }[];
        };
        const seen = hypervisors.find((h) => h.hypervisor_hostname === name);
        if (seen?.vcpus !== 100 + round) {
          failures.push(`API os-hypervisors: ${name} ${JSON.stringify(seen)}`);
        }
      }
    };

    const seeds = writers.map((writer) => writer.seed);
    for (const [i, seed] of seeds.entries())
      await ask(i + 1, { op: 'readFlavor', id: seed }, { key: seed });
    confirmed.push(...seeds);

    const started = performance.now();
    try {
      const clients = [cli(), refreshes()];
      await Promise.all(Array.from({ length: LANES }, (_, lane) => cycles(lane))).finally(() => {
        done = true;
      });
      await Promise.all(clients);
    } finally {
      for (const agent of agents) agent.worker.shutdown();
      await Promise.all(agents.map((agent) => agent.running));
      await connection.close();
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `${operations} operations in ${seconds.toFixed(1)} s across ${WRITERS + 3} processes and the CLI; ${failures.length} failures`,
    );
    expect(failures.slice(0, 20)).toEqual([]);
    expect(operations).toBeGreaterThanOrEqual(10_000);
  });
});
