/**
 * ferry on the lab against doing the same by hand, in the same run on the same guests:
 * - live migration: ferry (request → completed, through the start helper the CLI and API use)
 *   against `virsh migrate --live --p2p --persistent --undefinesource` with the same flags, the
 *   guest going back and forth between two hosts; goal ratio ≤ 1.15;
 * - cold migration: ferry (request → VERIFY_RESIZE, then confirm) against the same steps by hand:
 *   virsh shutdown, scp of the disk from the source host, virsh define and start on the
 *   destination, undefine and rm on the source.
 * Medians over `--runs` of each. Progress on stderr, the result last on stdout.
 * `npm run bench:lab -- [--json] [--runs N]`
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { openDatabase, type Database } from '../db/database';
import { decideResize } from '../client/resize-decisions';
import { startLiveMigration } from '../client/start-live-migration';
import { startResize } from '../client/start-resize';
import { run, runInHost } from '../lab/command';
import { bootLabInstance, bringUpLab, takeDownLab } from '../lab/fleet';
import { guestFiles } from '../lab/guest-domain';
import { waitForCounter } from '../lab/guest';
import { rootNamespacePath } from '../lab/layout';
import { waitFor } from '../lab/processes';
import type { LabHost } from '../lab/state';
import { loadConfig, type FerryConfig } from '../config';
import { projectRoot } from '../config/project-root';
import { startDevServer } from '../temporal/dev-server';
import { freePort } from '../test/support/free-port';
import { median } from '../test/support/statistics';
import { log } from './measure';

const GOAL_LIVE_RATIO = 1.15;

/** How long any one step of a run may take. */
const STEP_TIMEOUT_MS = 180_000;

interface Bench {
  config: FerryConfig;
  db: Database;
  client: Client;
  hosts: Record<string, LabHost>;
}

const virsh = (host: LabHost, args: string[]) => run('virsh', ['-c', host.libvirtUri, ...args]);
const otherHost = (bench: Bench, name: string) =>
  Object.values(bench.hosts).find((host) => host.name !== name) as LabHost;

async function whereIs(bench: Bench, guest: string): Promise<LabHost> {
  for (const host of Object.values(bench.hosts)) {
    const running = await virsh(host, ['list', '--name']);
    if (running.split('\n').some((line) => line.trim() === guest)) return host;
  }
  throw new Error(`${guest} runs nowhere`);
}

/** Waits until the guest counts on `host` again: the migration is over for its user too. */
async function counting(host: LabHost, guest: string): Promise<void> {
  const serialLog = rootNamespacePath(host.rootPath, guestFiles(guest).serialLog);
  await waitForCounter(
    serialLog,
    await waitForCounter(serialLog, -1, STEP_TIMEOUT_MS),
    STEP_TIMEOUT_MS,
  );
}

async function ferryLiveMigration(bench: Bench, guest: string): Promise<number> {
  const source = await whereIs(bench, guest);
  const dest = otherHost(bench, source.name);
  const started = performance.now();
  const migration = await startLiveMigration(bench.db, bench.client, {
    instance: guest,
    host: dest.name,
    blockMigration: 'auto',
    requestedBy: 'bench',
  });
  const state = (await bench.client.workflow.getHandle(migration.workflowId).result()) as {
    status: string;
  };
  const ms = performance.now() - started;
  if (state.status !== 'completed') throw new Error(`ferry live migration ${state.status}`);
  await counting(dest, guest);
  return ms;
}

async function virshLiveMigration(bench: Bench, guest: string): Promise<number> {
  const source = await whereIs(bench, guest);
  const dest = otherHost(bench, source.name);
  const args = ['migrate', '--live', '--p2p', '--persistent', '--undefinesource'];
  const started = performance.now();
  // By hand too, the guest's directory (its console log) must exist on the destination first.
  await runInHost(dest, ['mkdir', '-p', guestFiles(guest).dir]);
  await virsh(source, [...args, guest, dest.libvirtUriInLab]);
  const ms = performance.now() - started;
  await counting(dest, guest);
  // ferry's records follow the guest, so that its next request starts from the truth.
  await bench.db.instance.update({ where: { name: guest }, data: { hostName: dest.name } });
  return ms;
}

async function ferryColdMigration(bench: Bench, guest: string): Promise<number> {
  const source = await whereIs(bench, guest);
  const dest = otherHost(bench, source.name);
  const started = performance.now();
  const resize = await startResize(bench.db, bench.client, bench.config, {
    instance: guest,
    host: dest.name,
    requestedBy: 'bench',
  });
  await waitFor(
    'VERIFY_RESIZE',
    async () => {
      const row = await bench.db.migration.findUniqueOrThrow({
        where: { uuid: resize.migrationUuid },
      });
      if (row.status === 'error') throw new Error(`ferry cold migration failed: ${row.error}`);
      return row.status === 'finished' ? true : undefined;
    },
    STEP_TIMEOUT_MS,
  );
  await decideResize(bench.db, bench.client, guest, 'confirm');
  const ms = performance.now() - started;
  await counting(dest, guest);
  return ms;
}

async function manualColdMigration(bench: Bench, guest: string, dir: string): Promise<number> {
  const source = await whereIs(bench, guest);
  const dest = otherHost(bench, source.name);
  const { dir: guestDir, disk } = guestFiles(guest);
  const xml = join(dir, `${guest}.xml`);
  const started = performance.now();
  await virsh(source, ['shutdown', guest]);
  await waitFor(
    `${guest} shut off`,
    async () =>
      (await virsh(source, ['domstate', guest])).trim() === 'shut off' ? true : undefined,
    STEP_TIMEOUT_MS,
  );
  await writeFile(xml, await virsh(source, ['dumpxml', guest]));
  const ssh = ['-o', 'BatchMode=yes', '-P', String(dest.sshPort)];
  await runInHost(source, [
    'ssh',
    '-o',
    'BatchMode=yes',
    '-p',
    String(dest.sshPort),
    dest.address,
    'mkdir',
    '-p',
    guestDir,
  ]);
  await runInHost(source, ['scp', '-q', ...ssh, disk, `${dest.address}:${disk}`]);
  await virsh(dest, ['define', xml]);
  await virsh(dest, ['start', guest]);
  await virsh(source, ['undefine', guest]);
  await runInHost(source, ['rm', '-rf', guestDir]);
  const ms = performance.now() - started;
  await counting(dest, guest);
  await bench.db.instance.update({ where: { name: guest }, data: { hostName: dest.name } });
  return ms;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      runs: { type: 'string', default: '5' },
    },
  });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs: a positive integer`);
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
  };
  const config = loadConfig({ ...process.env, ...env });
  let control: ChildProcess | undefined;
  try {
    const lab = await bringUpLab(config, 2);
    control = spawn(process.execPath, [join(projectRoot(), 'dist', 'cli', 'main.js'), 'control'], {
      env: { ...process.env, ...env },
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
    const bench: Bench = {
      config,
      db: await openDatabase(config.databaseUrl),
      client: new Client({ connection: await Connection.connect({ address: server.address }) }),
      hosts: Object.fromEntries(lab.hosts.map((host) => [host.name, host])),
    };
    await bootLabInstance(config, { name: 'live', host: 'host1' });
    await bootLabInstance(config, { name: 'cold', host: 'host1', diskMb: 256, diskDataMb: 64 });
    await counting(bench.hosts.host1, 'live');
    await counting(bench.hosts.host1, 'cold');
    const times = { ferryLive: [] as number[], virshLive: [] as number[] };
    const cold = { ferry: [] as number[], manual: [] as number[] };
    for (let i = 1; i <= runs; i += 1) {
      times.ferryLive.push(await ferryLiveMigration(bench, 'live'));
      times.virshLive.push(await virshLiveMigration(bench, 'live'));
      cold.ferry.push(await ferryColdMigration(bench, 'cold'));
      cold.manual.push(await manualColdMigration(bench, 'cold', dir));
      log(
        `run ${i}: ${JSON.stringify({ ...times, cold }, (_, v) => (typeof v === 'number' ? Math.round(v) : v))}`,
      );
    }
    const round = (value: number) => Math.round(value);
    const live = {
      ferryMs: round(median(times.ferryLive)),
      virshMs: round(median(times.virshLive)),
    };
    const resize = { ferryMs: round(median(cold.ferry)), manualMs: round(median(cold.manual)) };
    const result = {
      runs,
      liveMigration: {
        ...live,
        ratio: Math.round((100 * live.ferryMs) / live.virshMs) / 100,
        goalRatio: GOAL_LIVE_RATIO,
      },
      coldMigration: {
        ...resize,
        ratio: Math.round((100 * resize.ferryMs) / resize.manualMs) / 100,
      },
    };
    await bench.client.connection.close();
    await bench.db.$disconnect();
    process.stdout.write(
      values.json ? `${JSON.stringify(result)}\n` : `${JSON.stringify(result, null, 2)}\n`,
    );
  } finally {
    control?.kill('SIGTERM');
    await takeDownLab(config).catch((error) => log(String(error)));
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The error and its causes: a failed workflow's reason is in its cause's cause. */
function describeError(error: unknown): string {
  const lines: string[] = [];
  for (let e: unknown = error; e !== undefined; e = e instanceof Error ? e.cause : undefined) {
    lines.push(e instanceof Error ? (e.stack ?? e.message) : String(e));
  }
  return lines.join('\ncaused by: ');
}

main().catch((error: unknown) => {
  process.stderr.write(`${describeError(error)}\n`);
  process.exit(1);
});
