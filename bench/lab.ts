/**
 * ferry on the lab against doing the same by hand, in the same run on the same guests:
 * - live migration: ferry (request → completed, through the start helper the CLI and API use)
 *   against `virsh migrate --live --p2p --persistent --undefinesource` with the same flags, the
 *   guest going back and forth between two hosts; goal ratio ≤ 1.15;
 * - cold migration: ferry (request → VERIFY_RESIZE, then confirm) against the same steps by hand:
 *   virsh shutdown, scp of the disk from the source host, virsh define and start on the
 *   destination, undefine and rm on the source;
 * - live migration on shared storage (a lab of its own, `--shared-storage`) of a guest with a disk:
 *   ferry (block_migration auto, which copies nothing) against `virsh migrate` with the same flags
 *   and no `--copy-storage-all` (`--unsafe`, as ferry: docs/live-migration.md, "Shared storage");
 *   goal ratio ≤ 1.15;
 * - evacuation (a shared-storage lab of its own, bench/lab-evacuation.ts): from the evacuate
 *   request accepted to the guest's first counter line on the destination.
 * Medians over `--runs` of each. Progress on stderr, the result last on stdout.
 * `npm run bench:lab -- [--json] [--runs N] [--only migration|shared-storage|evacuation]`
 */
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { decideResize } from '../client/resize-decisions';
import { startLiveMigration } from '../client/start-live-migration';
import { startResize } from '../client/start-resize';
import { runInHost } from '../lab/command';
import { bootLabInstance } from '../lab/fleet';
import { guestFiles } from '../lab/guest-domain';
import { rootNamespacePath } from '../lab/layout';
import { waitFor } from '../lab/processes';
import type { LabHost } from '../lab/state';
import { median } from '../test/support/statistics';
import {
  counting,
  STEP_TIMEOUT_MS,
  virsh,
  virshLiveMigrate,
  withLabStack,
  type LabBench as Bench,
} from './lab-stack';
import { evacuations } from './lab-evacuation';
import { log } from './measure';

const GOAL_LIVE_RATIO = 1.15;

const otherHost = (bench: Bench, name: string) =>
  Object.values(bench.hosts).find((host) => host.name !== name) as LabHost;

async function whereIs(bench: Bench, guest: string): Promise<LabHost> {
  for (const host of Object.values(bench.hosts)) {
    const running = await virsh(host, ['list', '--name']);
    if (running.split('\n').some((line) => line.trim() === guest)) return host;
  }
  throw new Error(`${guest} runs nowhere`);
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

async function virshLiveMigration(
  bench: Bench,
  guest: string,
  extraArgs: string[] = [],
): Promise<number> {
  const source = await whereIs(bench, guest);
  const dest = otherHost(bench, source.name);
  const started = performance.now();
  await virshLiveMigrate(bench, guest, source, dest, extraArgs);
  const ms = performance.now() - started;
  await counting(dest, guest);
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

/** Ferry and virsh in turn, the guest's disk on the shared dir; it must stay the same file. */
async function sharedStorageLiveMigrations(runs: number) {
  return withLabStack(
    2,
    {},
    async (bench) => {
      await bootLabInstance(bench.config, {
        name: 'shared',
        host: 'host1',
        diskMb: 256,
        diskDataMb: 64,
      });
      await counting(bench.hosts.host1, 'shared');
      const disk = rootNamespacePath(bench.hosts.host1.rootPath, guestFiles('shared').disk);
      const inode = (await stat(disk)).ino;
      const times = { ferry: [] as number[], virsh: [] as number[] };
      for (let i = 1; i <= runs; i += 1) {
        times.ferry.push(await ferryLiveMigration(bench, 'shared'));
        times.virsh.push(await virshLiveMigration(bench, 'shared', ['--unsafe']));
        log(
          `shared storage run ${i}: ${JSON.stringify(times, (_, v) => (typeof v === 'number' ? Math.round(v) : v))}`,
        );
      }
      if ((await stat(disk)).ino !== inode) throw new Error('the shared disk was replaced');
      const ferryMs = Math.round(median(times.ferry));
      const virshMs = Math.round(median(times.virsh));
      return {
        ferryMs,
        virshMs,
        ratio: Math.round((100 * ferryMs) / virshMs) / 100,
        goalRatio: GOAL_LIVE_RATIO,
      };
    },
    { sharedStorage: true },
  );
}

/** ferry and by hand in turn, live and cold, on a host-local lab. */
async function hostLocalMigrations(runs: number) {
  return withLabStack(2, {}, async (bench) => {
    await bootLabInstance(bench.config, { name: 'live', host: 'host1' });
    await bootLabInstance(bench.config, {
      name: 'cold',
      host: 'host1',
      diskMb: 256,
      diskDataMb: 64,
    });
    await counting(bench.hosts.host1, 'live');
    await counting(bench.hosts.host1, 'cold');
    const times = { ferryLive: [] as number[], virshLive: [] as number[] };
    const cold = { ferry: [] as number[], manual: [] as number[] };
    for (let i = 1; i <= runs; i += 1) {
      times.ferryLive.push(await ferryLiveMigration(bench, 'live'));
      times.virshLive.push(await virshLiveMigration(bench, 'live'));
      cold.ferry.push(await ferryColdMigration(bench, 'cold'));
      cold.manual.push(await manualColdMigration(bench, 'cold', bench.dir));
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
    return {
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
  });
}

const PARTS = ['migration', 'shared-storage', 'evacuation'] as const;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      runs: { type: 'string', default: '5' },
      only: { type: 'string' },
    },
  });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs: a positive integer`);
  const only = values.only;
  if (only !== undefined && !(PARTS as readonly string[]).includes(only)) {
    throw new Error(`--only: one of ${PARTS.join(', ')}`);
  }
  const part = (name: (typeof PARTS)[number]) => only === undefined || only === name;
  const output = {
    runs,
    ...(part('migration') ? await hostLocalMigrations(runs) : {}),
    ...(part('shared-storage')
      ? { sharedStorageLiveMigration: await sharedStorageLiveMigrations(runs) }
      : {}),
    ...(part('evacuation') ? { evacuation: await evacuations(runs) } : {}),
  };
  process.stdout.write(
    values.json ? `${JSON.stringify(output)}\n` : `${JSON.stringify(output, null, 2)}\n`,
  );
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
