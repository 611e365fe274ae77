/**
 * The lab benchmarks' setup (bench/lab.ts, bench/drain.ts): a Temporal dev server, the lab's hosts
 * with their agents, the control worker in its own process on a scratch SQLite database, every
 * hypervisor recorded; and the by-hand steps they are measured against.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { openDatabase, type Database } from '../db/database';
import { run, runInHost } from '../lab/command';
import { bringUpLab, takeDownLab } from '../lab/fleet';
import { guestFiles } from '../lab/guest-domain';
import { waitForCounter } from '../lab/guest';
import { rootNamespacePath } from '../lab/layout';
import { waitFor } from '../lab/processes';
import type { LabHost } from '../lab/state';
import { loadConfig, type FerryConfig } from '../config';
import { projectRoot } from '../config/project-root';
import { startDevServer } from '../temporal/dev-server';
import { freePort } from '../test/support/free-port';
import { log } from './measure';
import { controlWorkerArgs, controlWorkerEnv } from '../worker/control-process';

/** How long any one step of a run may take. */
export const STEP_TIMEOUT_MS = 180_000;

export interface LabBench {
  config: FerryConfig;
  /** Where the run's files go. */
  dir: string;
  db: Database;
  client: Client;
  hosts: Record<string, LabHost>;
}

export const virsh = (host: LabHost, args: string[]) =>
  run('virsh', ['-c', host.libvirtUri, ...args]);

/** Waits until the guest counts on `host` again: the migration is over for its user too. */
export async function counting(host: LabHost, guest: string): Promise<void> {
  const serialLog = rootNamespacePath(host.rootPath, guestFiles(guest).serialLog);
  await waitForCounter(
    serialLog,
    await waitForCounter(serialLog, -1, STEP_TIMEOUT_MS),
    STEP_TIMEOUT_MS,
  );
}

/**
 * A live migration by hand: `virsh migrate --live --p2p --persistent --undefinesource --tls` (TLS
 * as ferry's agents migrate on the lab, whose hosts have certificates) and `extraArgs`, after
 * `mkdir` of the guest's directory (its console log) on the destination, which by hand too must
 * exist first. ferry's records follow the guest, so that its next request starts from the truth.
 */
export async function virshLiveMigrate(
  bench: LabBench,
  guest: string,
  source: LabHost,
  dest: LabHost,
  extraArgs: string[] = [],
): Promise<void> {
  const args = ['migrate', '--live', '--p2p', '--persistent', '--undefinesource', '--tls'];
  args.push(...extraArgs);
  await runInHost(dest, ['mkdir', '-p', guestFiles(guest).dir]);
  await virsh(source, [...args, guest, dest.libvirtUriInLab]);
  await bench.db.instance.update({ where: { name: guest }, data: { hostName: dest.name } });
}

/**
 * Brings the stack up with a lab of `hosts` hosts, runs `body`, and takes it all down again.
 * `controlEnv` adds to the control worker's settings; `sharedStorage` gives the lab one instances
 * dir (docs/lab.md, Shared storage).
 */
export async function withLabStack<T>(
  hosts: number,
  controlEnv: Record<string, string>,
  body: (bench: LabBench) => Promise<T>,
  lab: { sharedStorage?: boolean } = {},
): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-lab-'));
  const server = await startDevServer({
    ip: '127.0.0.1',
    port: await freePort(),
    namespace: 'default',
    logFile: join(dir, 'temporal.log'),
  });
  const env = {
    FERRY_DATA_DIR: dir,
    FERRY_DATABASE_URL: `file:${join(dir, 'ferry.db')}`,
    FERRY_TEMPORAL_ADDRESS: server.address,
    FERRY_RESIZE_CONFIRM_WINDOW: '0',
    FERRY_LOG_LEVEL: 'warn',
    ...controlEnv,
  };
  const config = loadConfig({ ...process.env, ...env });
  let control: ChildProcess | undefined;
  try {
    const state = await bringUpLab(config, hosts, {}, lab);
    control = spawn(process.execPath, controlWorkerArgs(), {
      env: controlWorkerEnv({ ...process.env, ...env }),
      stdio: 'ignore',
    });
    // Records each hypervisor (type, version, CPU) as `ferry hosts refresh` does, once agents run.
    const cli = join(projectRoot(), 'dist', 'cli', 'main.js');
    await waitFor(
      'hosts refreshed',
      async () => {
        const refreshed = await promisify(execFile)(
          process.execPath,
          [cli, 'hosts', 'refresh', '--json'],
          { env: { ...process.env, ...env } },
        ).catch(() => undefined);
        return refreshed && JSON.parse(refreshed.stdout).failed.length === 0 ? true : undefined;
      },
      STEP_TIMEOUT_MS,
    );
    const bench: LabBench = {
      config,
      dir,
      db: await openDatabase(config.databaseUrl),
      client: new Client({ connection: await Connection.connect({ address: server.address }) }),
      hosts: Object.fromEntries(state.hosts.map((host) => [host.name, host])),
    };
    try {
      return await body(bench);
    } finally {
      await bench.client.connection.close();
      await bench.db.$disconnect();
    }
  } finally {
    control?.kill('SIGTERM');
    await takeDownLab(config).catch((error) => log(String(error)));
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
