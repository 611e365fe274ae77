import { Connection, type TLSConfig } from '@temporalio/client';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FERRY_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import { devServerDynamicConfigArgs } from './dynamic-config';
import { projectRoot } from '../config/project-root';

export interface DevServerOptions {
  ip: string;
  port: number;
  /** Web UI port; none = headless. */
  uiPort?: number;
  /** SQLite file for persistent state; none = in memory. */
  dbFilename?: string;
  namespace: string;
  logFile: string;
}

export interface RunningDevServer {
  address: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** The Temporal CLI the bootstrap built (`go install`) into .tools/bin. */
export function temporalBinary(): string {
  const path = join(projectRoot(), '.tools', 'bin', 'temporal');
  if (!existsSync(path)) {
    throw new Error(`${path} is missing: run scripts/bootstrap (npm start and npm test do)`);
  }
  return path;
}

/** True when a Temporal frontend at `address` answers within `timeoutMs`. */
export async function temporalAnswers(
  address: string,
  timeoutMs = 2000,
  tls?: TLSConfig,
): Promise<boolean> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: timeoutMs, tls });
    try {
      await connection.workflowService.getSystemInfo({});
      return true;
    } finally {
      await connection.close();
    }
  } catch {
    return false;
  }
}

/** True when something accepts TCP connections on ip:port (cheaper than a gRPC probe). */
function portAccepts(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: ip, port, timeout: 500 });
    const done = (accepted: boolean) => {
      socket.destroy();
      resolve(accepted);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

/**
 * Starts `temporal server start-dev` with ferry's search attributes registered and waits until
 * its frontend answers. Nothing is downloaded: the binary was built by the bootstrap.
 */
export async function startDevServer(options: DevServerOptions): Promise<RunningDevServer> {
  const args = [
    'server',
    'start-dev',
    '--ip',
    options.ip,
    '--port',
    String(options.port),
    '--namespace',
    options.namespace,
    '--log-level',
    'warn',
    ...FERRY_SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]),
    ...devServerDynamicConfigArgs(),
  ];
  if (options.uiPort === undefined) args.push('--headless');
  else args.push('--ui-port', String(options.uiPort));
  if (options.dbFilename) {
    mkdirSync(dirname(options.dbFilename), { recursive: true });
    // WAL with synchronous=NORMAL: a commit survives the server's own crash (kill -9), and
    // the dev server does not wait on an fsync per write (README, "Deploying on real hosts").
    args.push('--db-filename', options.dbFilename);
    args.push('--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal');
  }
  mkdirSync(dirname(options.logFile), { recursive: true });
  const log = openSync(options.logFile, 'a');
  const child = spawn(temporalBinary(), args, { stdio: ['ignore', log, log] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const address = `${options.ip}:${options.port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killed = await Promise.race([
        exited.then(() => true),
        sleep(10_000, false, { ref: false }),
      ]);
      if (!killed) child.kill('SIGKILL');
      await exited;
    }
  };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const tail = readFileSync(options.logFile, 'utf8').split('\n').slice(-15).join('\n');
      throw new Error(
        `temporal dev server exited (${child.exitCode ?? child.signalCode}):\n${tail}`,
      );
    }
    // Probe TCP first: each failed gRPC probe leaves a channel that delays process exit.
    if ((await portAccepts(options.ip, options.port)) && (await temporalAnswers(address, 2000))) {
      return { address, process: child, stop };
    }
    await sleep(200);
  }
  await stop();
  throw new Error(`temporal dev server at ${address} did not answer within 60 s`);
}
