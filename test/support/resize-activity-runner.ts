/**
 * Runs one resize activity inside a lab host, as that host's agent would: the host's paths,
 * libvirt and network, under Temporal's MockActivityEnvironment with the heartbeat details of a
 * retried attempt when given. The test process cannot enter a namespace, so this module is also
 * the small program that runs there (from dist/, with hostCommand): its request is argv's JSON,
 * its heartbeats and its outcome are JSON lines on stdout, and a `cancel` line on stdin cancels it.
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createResizeActivities } from '../../activities/host/resize';
import { hostCommand, INSTANCES_DIR, type LabHost } from '../../lab';
import { withoutDatabase } from '../../config';
import { projectRoot } from '../../config/project-root';
import type { ResizeHostActivities } from '../../workflows/resize-contract';
import { libvirtHypervisor } from '../../virt/libvirt/hypervisor';
import type { PeerHost } from '../../workflows/operation-types';

const LINE_PREFIX = '@@ferry-resize ';

type Name = keyof ResizeHostActivities;
type RequestOf<K extends Name> = Parameters<ResizeHostActivities[K]>[0];
type ResultOf<K extends Name> = Awaited<ReturnType<ResizeHostActivities[K]>>;

interface RunnerInput {
  hostName: string;
  libvirtUri: string;
  activity: Name;
  request: unknown;
  heartbeatDetails?: unknown;
}

type RunnerOutput =
  | { heartbeat: unknown }
  | { result: unknown; ms: number }
  | { error: { name: string; message: string; type?: string | null; nonRetryable?: boolean } };

export interface ActivityOutcome<T> {
  result: T;
  /** How long the activity itself ran, inside the host. */
  ms: number;
  heartbeats: unknown[];
}

export interface RunOptions {
  /** The heartbeat details a retried attempt starts with. */
  heartbeatDetails?: unknown;
  /** Called with each heartbeat's details; `cancel` cancels the activity as Temporal would. */
  onHeartbeat?: (details: unknown, cancel: () => void) => void;
}

function revive(error: Extract<RunnerOutput, { error: unknown }>['error']): Error {
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

/** A lab host as its Host row describes it (lab/register.ts), as the control plane hands it on. */
export function labPeer(host: LabHost): PeerHost {
  return {
    name: host.name,
    libvirtUri: host.libvirtUriInLab,
    sshAddress: host.address,
    sshPort: host.sshPort,
    sshHostKey: host.sshHostPublicKey,
    instancesDir: host.instancesDir,
  };
}

/** Runs `activity` inside `host`; needs the project built (dist/). */
export function runResizeActivity<K extends Name>(
  host: LabHost,
  activity: K,
  request: RequestOf<K>,
  options: RunOptions = {},
): Promise<ActivityOutcome<ResultOf<K>>> {
  const input: RunnerInput = {
    hostName: host.name,
    libvirtUri: host.libvirtUriInLab,
    activity,
    request,
    heartbeatDetails: options.heartbeatDetails,
  };
  const script = join(projectRoot(), 'dist', 'test', 'support', 'resize-activity-runner.js');
  const [program, ...args] = hostCommand(host, [process.execPath, script, JSON.stringify(input)]);
  const child = spawn(program, args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: withoutDatabase(process.env),
  });
  const stderr: Buffer[] = [];
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const cancel = () => child.stdin.write('cancel\n');
  const heartbeats: unknown[] = [];
  return new Promise((resolve, reject) => {
    let outcome: RunnerOutput | undefined;
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.startsWith(LINE_PREFIX)) return;
      const message = JSON.parse(line.slice(LINE_PREFIX.length)) as RunnerOutput;
      if ('heartbeat' in message) {
        heartbeats.push(message.heartbeat);
        options.onHeartbeat?.(message.heartbeat, cancel);
      } else {
        outcome = message;
      }
    });
    child.on('close', (code) => {
      child.stdin.destroy();
      if (outcome === undefined) {
        const log = Buffer.concat(stderr).toString('utf8');
        reject(new Error(`${activity} on ${host.name}: runner exited ${code}: ${log}`));
      } else if ('error' in outcome) {
        reject(revive(outcome.error));
      } else if ('result' in outcome) {
        resolve({ result: outcome.result as ResultOf<K>, ms: outcome.ms, heartbeats });
      }
    });
  });
}

/** The runner, inside the host. */
async function run(input: RunnerInput): Promise<RunnerOutput> {
  const activities = createResizeActivities({
    hostName: input.hostName,
    hypervisor: libvirtHypervisor,
    libvirtUri: input.libvirtUri,
    instancesDir: INSTANCES_DIR,
    peers: {
      username: 'root',
      privateKeyPath: '/root/.ssh/id_ed25519',
    },
  });
  const logger = new DefaultLogger('INFO', ({ level, message, meta }) =>
    process.stderr.write(`${level} ${message} ${JSON.stringify(meta)}\n`),
  );
  const env = new MockActivityEnvironment(
    { activityType: input.activity, heartbeatDetails: input.heartbeatDetails },
    { logger },
  );
  const write = (message: RunnerOutput) =>
    process.stdout.write(`${LINE_PREFIX}${JSON.stringify(message)}\n`);
  env.on('heartbeat', (details: unknown) => write({ heartbeat: details ?? null }));
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line === 'cancel') env.cancel();
  });
  const fn = activities[input.activity] as (request: unknown) => Promise<unknown>;
  const started = Date.now();
  try {
    return { result: (await env.run(fn, input.request)) ?? null, ms: Date.now() - started };
  } catch (caught) {
    const error = caught as Error & { type?: string | null; nonRetryable?: boolean };
    const { name, message, type, nonRetryable } = error;
    return { error: { name, message, type, nonRetryable } };
  }
}

if (require.main === module) {
  void run(JSON.parse(process.argv[2]) as RunnerInput).then((outcome) =>
    process.stdout.write(`${LINE_PREFIX}${JSON.stringify(outcome)}\n`, () => process.exit(0)),
  );
}
