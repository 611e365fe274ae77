/**
 * ferry's whole stack on a lab of its own for an e2e describe block: lab hosts (three unless told)
 * with their agents, the control worker, a scratch SQLite database and the run's Temporal server; plus what
 * the tests check it with (libvirt, the guests' serial consoles and disks, the database).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { openDatabase, type Database } from '../../db/database';
import { agentLogFile, startLabAgents } from '../../lab/agents';
import { run } from '../../lab/command';
import { bringUpLab, labStateDir, takeDownLab } from '../../lab/fleet';
import { guestDiagnosis } from '../../lab/guest-diagnosis';
import { guestFiles } from '../../lab/guest-domain';
import { readCounter } from '../../lab/guest';
import { rootNamespacePath } from '../../lab/layout';
import type { LabHost, LabState } from '../../lab/state';
import { loadConfig, type FerryConfig } from '../../config';
import { startDevServer, type RunningDevServer } from '../../temporal/dev-server';
import { instanceWorkflowId } from '../../workflows/operation-types';
import { scratchDatabase, type ScratchDatabase } from './databases';
import { ferry } from './ferry-cli';
import { freePort } from './free-port';
import { claimMachine, releaseMachine } from './lab';
import { controlWorkerArgs, controlWorkerEnv } from '../../worker/control-process';
import { writerInside } from './writer-inside';

/** How long pauseControlOutsideWrites lets the control worker run before it stops it again. */
const PAUSE_STEP_MS = 10;

export async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await sleep(250);
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms`);
}

/**
 * Waits for a lab guest's serial counter on `host` to go up; returns it. A guest that does not
 * count fails with what became of it.
 */
export async function guestCounting(host: LabHost, guest: string): Promise<number> {
  const log = rootNamespacePath(host.rootPath, guestFiles(guest).serialLog);
  try {
    const first = await until(`${guest} counting on ${host.name}`, 60_000, () => readCounter(log));
    return await until(`${guest}'s counter going on on ${host.name}`, 30_000, async () => {
      const now = await readCounter(log);
      return now !== undefined && now > first ? now : undefined;
    });
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${await guestDiagnosis(host, guest)}`);
  }
}

export interface LabStackOptions {
  /** Names the scratch data dir. */
  name: string;
  /** Extra environment of the agents (agent settings). */
  agentEnv?: Record<string, string>;
  /** Extra environment of the control worker and the CLI. */
  env?: Record<string, string>;
  /**
   * A Temporal dev server of the stack's own, persistent (SQLite in the data dir) and restartable
   * with restartTemporal, instead of the run's shared in-memory one.
   */
  ownTemporal?: boolean;
  /** How many lab hosts (default 3). */
  hosts?: number;
  /** Every host's instances dir is one shared directory (docs/lab.md, Shared storage). */
  sharedStorage?: boolean;
}

export function useLabStack(options: LabStackOptions) {
  const agentEnv = options.agentEnv ?? {};
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let config: FerryConfig;
  let lab: LabState;
  let db: Database;
  let control: ChildProcess;
  let temporal: Client;
  let temporalServer: RunningDevServer | undefined;
  let database: ScratchDatabase | undefined;

  const startTemporal = (port: number) =>
    startDevServer({
      ip: '127.0.0.1',
      port,
      namespace: 'default',
      dbFilename: join(dataDir, 'temporal.db'),
      logFile: join(dataDir, 'temporal.log'),
    });
  let controlEnv: Record<string, string> = {};
  const startControl = () => {
    const log = openSync(join(dataDir, 'control.log'), 'a');
    control = spawn(process.execPath, controlWorkerArgs(), {
      env: controlWorkerEnv({ ...process.env, ...env, ...controlEnv }),
      stdio: ['ignore', log, log],
    });
  };
  const stopControl = async () => {
    if (!control || control.exitCode !== null) return;
    const exited = new Promise((resolve) => control.once('exit', resolve));
    // A test that failed while the worker was paused leaves it stopped: SIGTERM waits for SIGCONT.
    control.kill('SIGCONT');
    control.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000)]);
    control.kill('SIGKILL');
  };

  const host = (name: string): LabHost => lab.hosts.find((h) => h.name === name) as LabHost;
  const agentsFile = () => join(labStateDir(config), 'agents.json');

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), `ferry-e2e-${options.name}-`));
    if (options.ownTemporal) temporalServer = await startTemporal(await freePort());
    // The production-mode pass (FERRY_TEST_DATABASE=postgresql) keeps ferry's data in PostgreSQL.
    if (process.env.FERRY_TEST_DATABASE === 'postgresql') {
      database = await scratchDatabase('postgresql');
    }
    env = {
      FERRY_DATA_DIR: dataDir,
      FERRY_DATABASE_URL: database?.url ?? `file:${join(dataDir, 'ferry.db')}`,
      FERRY_TEMPORAL_ADDRESS: temporalServer?.address ?? process.env.FERRY_TEST_TEMPORAL_ADDRESS,
      FERRY_LOG_FORMAT: 'json',
      ...options.env,
    };
    config = loadConfig({ ...process.env, ...env });
    await claimMachine(labStateDir(config));
    lab = await bringUpLab(config, options.hosts ?? 3, agentEnv, {
      sharedStorage: options.sharedStorage,
    });
    startControl();
    db = await openDatabase(config.databaseUrl);
    temporal = new Client({
      connection: await Connection.connect({ address: config.temporalAddress }),
    });
    const refreshed = await ferry(['hosts', 'refresh', '--json'], env);
    if (JSON.parse(refreshed.stdout).failed.length > 0) {
      const logs = lab.hosts.map((h) => readFileSync(agentLogFile(h), 'utf8').slice(-2000));
      throw new Error(`hosts refresh failed: ${refreshed.stdout}\nagent logs:\n${logs.join('\n')}`);
    }
  });

  afterAll(async () => {
    await stopControl();
    await temporal?.connection.close();
    await temporalServer?.stop();
    await db?.$disconnect();
    if (config) {
      await takeDownLab(config);
      await releaseMachine(labStateDir(config));
    }
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const stack = {
    get env() {
      return env;
    },
    get config() {
      return config;
    },
    get db() {
      return db;
    },
    get temporal() {
      return temporal;
    },
    get dataDir() {
      return dataDir;
    },
    get lab() {
      return lab;
    },
    host,
    domainsOn: async (name: string) =>
      (await run('virsh', ['-c', host(name).libvirtUri, 'list', '--all', '--name']))
        .split('\n')
        .map((line) => line.trim())
        .filter(Boolean),
    virsh: (hostName: string, args: string[]) =>
      run('virsh', ['-c', host(hostName).libvirtUri, ...args]),
    diskOn: (hostName: string, guest: string) =>
      rootNamespacePath(host(hostName).rootPath, guestFiles(guest).disk),
    instance: (name: string) =>
      db.instance.findUniqueOrThrow({ where: { name }, include: { migrations: true } }),
    counting: (hostName: string, guest: string) => guestCounting(host(hostName), guest),
    /** sha256 of the disk's contents past sector 0 (which the guest rewrites every second). */
    async diskDigest(path: string): Promise<string> {
      const raw = `${path}.check.raw`;
      await run('qemu-img', ['convert', '-U', '-O', 'raw', path, raw]);
      const bytes = await readFile(raw);
      await rm(raw);
      return createHash('sha256').update(bytes.subarray(512)).digest('hex');
    },
    /** kill -9 of a host's agent, then a new one, as after a crash. */
    async restartAgentAfterKill(hostName: string): Promise<void> {
      await stack.killAgent(hostName);
      await sleep(1000);
      await stack.startAgent(hostName);
    },
    /** kill -9 of a host's agent. */
    async killAgent(hostName: string): Promise<void> {
      const agents = JSON.parse(await readFile(agentsFile(), 'utf8'));
      process.kill(agents[hostName], 'SIGKILL');
    },
    /** A new agent on the host, in place of one killed; `settings` added to its environment. */
    async startAgent(hostName: string, settings: Record<string, string> = {}): Promise<void> {
      const agents = JSON.parse(await readFile(agentsFile(), 'utf8'));
      const restarted = startLabAgents([host(hostName)], config, { ...agentEnv, ...settings });
      await writeFile(agentsFile(), JSON.stringify({ ...agents, ...restarted }));
    },
    /**
     * The control worker stopped (SIGTERM) and started again with `settings` added to its
     * environment: the control plane's policy, which every operation started afterwards gets.
     */
    async restartControl(settings: Record<string, string>): Promise<void> {
      await stopControl();
      controlEnv = settings;
      startControl();
    },
    /** kill -9 of the control worker, then a new one. */
    async restartControlAfterKill(): Promise<void> {
      await stack.killControl();
      await sleep(1000);
      startControl();
    },
    /** kill -9 of the control worker (paused or not); resolves once it has exited. */
    async killControl(): Promise<void> {
      const exited = new Promise((resolve) =>
        control.exitCode === null && control.signalCode === null
          ? control.once('exit', resolve)
          : resolve(null),
      );
      control.kill('SIGKILL');
      await exited;
    },
    startControl,
    /**
     * SIGSTOP of the control worker: it runs every step that writes the Migration row (its local
     * activities), so while it is stopped the row cannot change.
     */
    pauseControl(): void {
      control.kill('SIGSTOP');
    },
    resumeControl(): void {
      if (control.exitCode === null && control.signalCode === null) control.kill('SIGCONT');
    },
    /**
     * SIGSTOP of the control worker at a moment it is inside no write transaction, for a test
     * that writes (a request) while it is stopped: stopped inside one (its heartbeat round, the
     * tail of a step), it would hold the writer's lock and fail that write after the busy timeout.
     * While it is inside one, lets it run on for PAUSE_STEP_MS and stops it again.
     */
    async pauseControlOutsideWrites(): Promise<void> {
      for (;;) {
        control.kill('SIGSTOP');
        if (!(await writerInside(config.databaseUrl))) return;
        control.kill('SIGCONT');
        await sleep(PAUSE_STEP_MS);
      }
    },
    /** Stops the stack's own Temporal server (SIGTERM) and starts it again on the same port. */
    async restartTemporal(): Promise<void> {
      await stack.stopTemporal();
      await stack.startTemporalAgain();
    },
    async stopTemporal(): Promise<void> {
      if (!temporalServer) throw new Error('stopTemporal needs a stack with ownTemporal');
      await temporalServer.stop();
    },
    /** The stack's own Temporal server again, on the port it had, with its persistent state. */
    async startTemporalAgain(): Promise<void> {
      if (!temporalServer) throw new Error('startTemporalAgain needs a stack with ownTemporal');
      temporalServer = await startTemporal(Number(temporalServer.address.split(':')[1]));
    },
    agentLog: (hostName: string) => readFile(agentLogFile(host(hostName)), 'utf8'),
    /** Keeps the instance's last run's history as a replay fixture when FERRY_RECORD_HISTORIES is set. */
    async recordHistory(guest: string, name: string): Promise<void> {
      const dir = process.env.FERRY_RECORD_HISTORIES;
      if (!dir) return;
      const { uuid } = await stack.instance(guest);
      const history = await temporal.workflow.getHandle(instanceWorkflowId(uuid)).fetchHistory();
      await writeFile(join(dir, `${name}.json`), JSON.stringify(history));
    },
  };
  return stack;
}
