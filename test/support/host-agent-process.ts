/**
 * A lab host's activities run where an agent runs them: inside the host's namespaces, so that
 * paths, libvirt URIs and the lab network are the host's own. The test process cannot enter a
 * namespace, so this module is also a small program (run from dist/, inside the host with
 * hostCommand) that serves the host activities under Temporal's MockActivityEnvironment, one JSON
 * line per call and per event on stdin/stdout.
 *
 * Parent side: `startHostAgentProcess(host, settings)`, then `agent.call(name, request)` or
 * `agent.start(...)` for a run that can be cancelled; the heartbeats and the reportProgress calls
 * of every run are recorded.
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createHostActivities, type HostActivities } from '../../activities/host';
import type { LiveMigrationSettings } from '../../activities/host/live-migration/settings';
import type { MigrationProgress } from '../../workflows/live-migration-contract';
import { hostCommand, INSTANCES_DIR, type LabHost } from '../../lab';
import { withoutDatabase } from '../../config';
import { projectRoot } from '../../config/project-root';
import { libvirtHypervisor } from '../../virt/libvirt/hypervisor';

const LINE_PREFIX = '@@ferry-agent ';

type ActivityName = Exclude<keyof HostActivities, 'describeHypervisor'>;
type RequestOf<K extends ActivityName> = Parameters<HostActivities[K]>[0];
type ResultOf<K extends ActivityName> = Awaited<ReturnType<HostActivities[K]>>;

interface AgentConfig {
  hostName: string;
  libvirtUri: string;
  instancesDir: string;
  liveMigration: LiveMigrationSettings;
}

interface SerializedError {
  name: string;
  message: string;
  type?: string | null;
  nonRetryable?: boolean;
}

type ToAgent =
  { id: number; activity: ActivityName; request: unknown } | { id: number; cancel: true };

type FromAgent =
  | { id: number; result: unknown }
  | { id: number; error: SerializedError }
  | { id: number; heartbeat: unknown }
  | { progress: MigrationProgress; migrationUuid: string; at: number };

export interface ProgressReport {
  migrationUuid: string;
  progress: MigrationProgress;
  /** Date.now() in the agent when it was reported. */
  at: number;
}

export interface ActivityRun<T> {
  result: Promise<T>;
  /** The run's heartbeat details, in order. */
  heartbeats: unknown[];
  /** Cancels the activity, as Temporal does when its workflow cancels it. */
  cancel(): void;
}

function revive(error: SerializedError): Error {
  if (error.name === 'CancelledFailure') return new CancelledFailure(error.message);
  if (error.name === 'ApplicationFailure') {
    return ApplicationFailure.create({
      type: error.type ?? undefined,
      message: error.message,
      nonRetryable: error.nonRetryable ?? false,
    });
  }
  return Object.assign(new Error(error.message), { name: error.name });
}

export class HostAgentProcess {
  /** Every reportProgress call, in order. */
  readonly progressReports: ProgressReport[] = [];
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve(value: unknown): void; reject(error: Error): void; heartbeats: unknown[] }
  >();
  private exited: Error | null = null;

  constructor(
    private readonly child: ChildProcess,
    readonly logFile: string,
  ) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith(LINE_PREFIX)) this.receive(JSON.parse(line.slice(LINE_PREFIX.length)));
    });
    child.on('exit', (code, signal) => {
      this.exited = new Error(`the host agent process exited (${code ?? signal}); see ${logFile}`);
      for (const { reject } of this.pending.values()) reject(this.exited);
      this.pending.clear();
    });
  }

  private receive(message: FromAgent): void {
    if ('migrationUuid' in message) {
      this.progressReports.push(message);
      return;
    }
    const call = this.pending.get(message.id);
    if (!call) return;
    if ('heartbeat' in message) {
      call.heartbeats.push(message.heartbeat);
      return;
    }
    this.pending.delete(message.id);
    if ('error' in message) call.reject(revive(message.error));
    else call.resolve(message.result);
  }

  private send(message: ToAgent): void {
    this.child.stdin!.write(`${JSON.stringify(message)}\n`);
  }

  start<K extends ActivityName>(activity: K, request: RequestOf<K>): ActivityRun<ResultOf<K>> {
    const id = this.nextId++;
    const heartbeats: unknown[] = [];
    const result = new Promise<ResultOf<K>>((resolve, reject) => {
      if (this.exited) throw this.exited;
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, heartbeats });
      this.send({ id, activity, request });
    });
    return { result, heartbeats, cancel: () => this.send({ id, cancel: true }) };
  }

  call<K extends ActivityName>(activity: K, request: RequestOf<K>): Promise<ResultOf<K>> {
    return this.start(activity, request).result;
  }

  /** Ends its input; kills it if it has not exited 5 s later (an activity still running). */
  async stop(): Promise<void> {
    if (this.exited) return;
    const exit = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exit;
    clearTimeout(timer);
  }
}

/**
 * Starts the activities of `host` inside it, as its agent would run them: its libvirt URI in the
 * lab, its instances dir, and `settings`. Needs the project built (dist/).
 */
export async function startHostAgentProcess(
  host: LabHost,
  settings: LiveMigrationSettings,
  logDir: string,
): Promise<HostAgentProcess> {
  const config: AgentConfig = {
    hostName: host.name,
    libvirtUri: host.libvirtUriInLab,
    instancesDir: INSTANCES_DIR,
    liveMigration: settings,
  };
  const script = join(projectRoot(), 'dist', 'test', 'support', 'host-agent-process.js');
  const logFile = join(logDir, `agent-${host.name}-${Date.now()}.log`);
  const log = openSync(logFile, 'a');
  const [program, ...args] = hostCommand(host, [process.execPath, script, JSON.stringify(config)]);
  const child = spawn(program, args, {
    stdio: ['pipe', 'pipe', log],
    env: withoutDatabase(process.env),
  });
  closeSync(log);
  const agent = new HostAgentProcess(child, logFile);
  await agent.call('locateInstance', { instanceUuid: '00000000-0000-0000-0000-000000000000' });
  return agent;
}

/** The agent side: serves the calls of stdin until it ends. */
function serve(config: AgentConfig): void {
  const write = (message: FromAgent) =>
    process.stdout.write(`${LINE_PREFIX}${JSON.stringify(message)}\n`);
  const activities = createHostActivities({
    ...config,
    hypervisor: libvirtHypervisor,
    reportProgress: async (migrationUuid, progress) => {
      write({ migrationUuid, progress, at: Date.now() });
    },
  });
  const logger = new DefaultLogger('INFO', ({ level, message, meta }) =>
    process.stderr.write(
      `${new Date().toISOString()} ${level} ${message} ${JSON.stringify(meta)}\n`,
    ),
  );
  const running = new Map<number, MockActivityEnvironment>();
  createInterface({ input: process.stdin }).on('line', (line) => {
    const message = JSON.parse(line) as ToAgent;
    if ('cancel' in message) {
      running.get(message.id)?.cancel();
      return;
    }
    const { id, activity, request } = message;
    const env = new MockActivityEnvironment({ activityType: activity }, { logger });
    env.on('heartbeat', (details: unknown) => write({ id, heartbeat: details ?? null }));
    running.set(id, env);
    const fn = activities[activity] as (request: unknown) => Promise<unknown>;
    env
      .run(fn, request)
      .then(
        (result) => write({ id, result: result ?? null }),
        (error: Error) => {
          const failure = error as Error & { type?: string | null; nonRetryable?: boolean };
          write({
            id,
            error: {
              name: failure.name,
              message: failure.message,
              type: failure.type,
              nonRetryable: failure.nonRetryable,
            },
          });
        },
      )
      .finally(() => running.delete(id));
  });
}

if (require.main === module) serve(JSON.parse(process.argv[2]) as AgentConfig);
