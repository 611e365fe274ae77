import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCounter } from '../../lab/guest';
import { projectRoot } from '../../config/project-root';
import { temporalAnswers } from '../../temporal/dev-server';
import { ferry } from '../support/ferry-cli';
import { freePort } from '../support/free-port';
import { until } from '../support/lab-stack';
import { alive, descendants } from '../support/processes';

/** A scratch data dir and free ports, so a test stack cannot collide with one already running. */
async function scratchStack(): Promise<{ dataDir: string; env: NodeJS.ProcessEnv }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ferry-e2e-start-'));
  const [temporalPort, uiPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  return {
    dataDir,
    env: {
      FERRY_DATA_DIR: dataDir,
      FERRY_DATABASE_URL: `file:${join(dataDir, 'ferry.db')}`,
      FERRY_TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
      FERRY_TEMPORAL_UI_PORT: String(uiPort),
      FERRY_API_PORT: String(apiPort),
      FERRY_LOG_FORMAT: 'json',
    },
  };
}

interface RunningStart {
  npm: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/**
 * Each test's bound. Each wait inside has its own (health 120 s, the guest's counter 90 s, the
 * exit 10 s), and a failure kills the leftovers and takes the lab down inside the test, never
 * after jest has gone on to the next file's lab.
 */
jest.setTimeout(300_000);

/** `npm start` exactly as a newcomer runs it. */
function npmStart(env: NodeJS.ProcessEnv): RunningStart {
  const npm = spawn('npm', ['start'], {
    cwd: projectRoot(),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  npm.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  npm.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
  return { npm, output: () => output, exited };
}

async function healthy(env: NodeJS.ProcessEnv): Promise<Record<string, unknown>> {
  return until('GET /health = 200', 120_000, async () => {
    const response = await fetch(`http://127.0.0.1:${env.FERRY_API_PORT}/health`);
    return response.status === 200
      ? ((await response.json()) as Record<string, unknown>)
      : undefined;
  });
}

/** SIGINT to npm; then npm exits 0 and every process it started is gone. */
async function interruptAndCheckClean(start: RunningStart): Promise<void> {
  const processes = descendants(start.npm.pid as number);
  expect(processes.length).toBeGreaterThanOrEqual(4);
  start.npm.kill('SIGINT');
  expect(await start.exited).toBe(0);
  await until('every process of npm start gone', 10_000, async () =>
    processes.some(alive) ? undefined : true,
  );
}

/**
 * After a failed assertion: every process npm started is killed (collected before npm dies, since
 * its orphans are re-parented away) and the lab, if one came up, taken down — so a failure can
 * never leave daemons behind that keep jest waiting.
 */
async function killLeftovers(start: RunningStart, env: NodeJS.ProcessEnv): Promise<void> {
  const leftovers = descendants(start.npm.pid as number);
  if (start.npm.exitCode === null) start.npm.kill('SIGKILL');
  for (const pid of leftovers) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await ferry(['lab', 'down'], env);
}

describe('npm start with hosts registered', () => {
  let stack: Awaited<ReturnType<typeof scratchStack>>;

  beforeAll(async () => {
    stack = await scratchStack();
    expect(await ferry(['db', 'migrate'], stack.env)).toMatchObject({ code: 0 });
    const added = await ferry(
      ['hosts', 'add', 'compute1', '--libvirt-uri', 'test:///default'],
      stack.env,
    );
    expect(added).toMatchObject({ code: 0, stdout: 'host compute1 added\n' });
  });

  afterAll(() => rmSync(stack.dataDir, { recursive: true, force: true }));

  it('serves Temporal, its UI and the API, runs the agents, and stops everything on SIGINT', async () => {
    const { env } = stack;
    const start = npmStart(env);
    try {
      const health = await healthy(env);
      expect(health).toMatchObject({
        status: 'ok',
        temporal: { ok: true },
        database: { ok: true },
      });
      expect(await temporalAnswers(env.FERRY_TEMPORAL_ADDRESS as string)).toBe(true);
      const ui = await fetch(`http://127.0.0.1:${env.FERRY_TEMPORAL_UI_PORT}/`);
      expect(ui.status).toBe(200);
      expect(await ui.text()).toMatch(/<html/i);

      // The agent of compute1 answers on its own queue: a refresh records the hypervisor.
      const refreshed = await ferry(['hosts', 'refresh', '--json'], env);
      expect(refreshed.code).toBe(0);
      expect(JSON.parse(refreshed.stdout)).toMatchObject({
        refreshed: [{ host: 'compute1', hypervisorType: 'TEST', arch: 'i686' }],
        failed: [],
      });
      const listed = JSON.parse((await ferry(['hosts', 'list', '--json'], env)).stdout);
      expect(listed).toMatchObject([{ name: 'compute1', hypervisorType: 'TEST', vcpus: 16 }]);
      expect(listed[0].lastHeartbeatAt).not.toBeNull();

      await interruptAndCheckClean(start);
      expect(start.output()).toMatch(/ferry is up/);
    } finally {
      await killLeftovers(start, env);
    }
  });
});

describe('npm start on a machine with no hosts', () => {
  let stack: Awaited<ReturnType<typeof scratchStack>>;

  beforeAll(async () => {
    stack = await scratchStack();
  });

  afterAll(() => rmSync(stack.dataDir, { recursive: true, force: true }));

  it('brings up a two-host lab with a running guest, agents inside the hosts, and takes it down on SIGINT', async () => {
    const { env } = stack;
    const start = npmStart(env);
    try {
      await healthy(env);
      expect(start.output()).toMatch(/instance demo runs on host1/);

      const status = JSON.parse((await ferry(['lab', 'status', '--json'], env)).stdout);
      expect(status.hosts.map((h: { name: string }) => h.name)).toEqual(['host1', 'host2']);
      for (const host of status.hosts) {
        expect(host).toEqual(
          expect.objectContaining({
            libvirtUri: expect.stringMatching(/^qemu\+unix:\/\/\/system\?socket=/),
            address: expect.stringMatching(/^10\.77\.0\.\d+$/),
            instancesDir: '/var/lib/ferry/instances',
            rootPath: expect.stringContaining(stack.dataDir),
            pids: expect.any(Object),
          }),
        );
      }
      const [guest] = status.guests;
      expect(guest).toEqual({
        name: 'demo',
        uuid: expect.any(String),
        host: 'host1',
        serialLog: expect.stringContaining(stack.dataDir),
      });
      const first = await until('the demo guest counting', 60_000, () =>
        readCounter(guest.serialLog),
      );
      await until('the counter going on', 30_000, async () =>
        ((await readCounter(guest.serialLog)) ?? -1) > first ? true : undefined,
      );

      // Each agent runs inside its host and reaches Temporal through the lab's relay.
      const refreshed = JSON.parse((await ferry(['hosts', 'refresh', '--json'], env)).stdout);
      expect(refreshed.failed).toEqual([]);
      const byName = (a: { host: string }, b: { host: string }) => a.host.localeCompare(b.host);
      expect(refreshed.refreshed.sort(byName)).toEqual(
        ['host1', 'host2'].map((host) =>
          expect.objectContaining({ host, hypervisorType: 'QEMU', arch: 'x86_64' }),
        ),
      );
      const hosts = JSON.parse((await ferry(['hosts', 'list', '--json'], env)).stdout);
      expect(hosts.map((h: { libvirtUri: string }) => h.libvirtUri)).toEqual([
        'qemu+tls://10.77.0.11/system',
        'qemu+tls://10.77.0.12/system',
      ]);

      await interruptAndCheckClean(start);
      expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toMatch(/ferry-/);
      expect(JSON.parse((await ferry(['hosts', 'list', '--json'], env)).stdout)).toEqual([]);
    } finally {
      await killLeftovers(start, env);
    }
  });
});
