import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { labDown, labUp, type LabState } from '../../lab';
import { projectRoot } from '../../config/project-root';

/** Root with libvirtd installed: what the lab needs. Describe lab tests with `describe.skip` otherwise. */
export const canRunLab = process.getuid?.() === 0 && existsSync('/usr/sbin/libvirtd');

/** The default lab's cache (QEMU capabilities, guest image), kept warm across runs. */
const CACHE_DIR = join(projectRoot(), 'data', 'lab', 'cache');

/** How long to wait for another lab on this machine (one per machine) to go. */
const BUSY_MACHINE_TIMEOUT_MS = 60_000;

/**
 * Where test runs record the labs they bring up, one file per lab named by the owning process's
 * pid and holding the lab's state dir: a lab whose owner is gone (a run killed by its watchdog, a
 * crashed jest) is stale, and the next run takes it down instead of waiting for it.
 */
const OWNERS_DIR = join(tmpdir(), 'ferry-test-labs');

async function labNamespaces(): Promise<string[]> {
  const { stdout } = await promisify(execFile)('ip', ['netns', 'list']);
  return stdout.split('\n').filter((line) => line.startsWith('ferry-'));
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes down the labs of test runs that are gone, and namespaces no process is in any more. */
async function removeStaleLabs(): Promise<void> {
  await mkdir(OWNERS_DIR, { recursive: true });
  let liveOwners = 0;
  for (const entry of await readdir(OWNERS_DIR)) {
    const owner = Number(entry.split('-')[0]);
    // Our own leftover (a lab whose teardown failed) is stale too: a process has one lab at a time.
    if (owner !== process.pid && processAlive(owner)) {
      liveOwners += 1;
      continue;
    }
    const file = join(OWNERS_DIR, entry);
    const stateDir = await readFile(file, 'utf8').catch(() => '');
    if (stateDir) await labDown({ stateDir });
    await rm(file, { force: true });
  }
  // A lab coming up has namespaces before it has processes: sweep only when no owner runs.
  if (liveOwners === 0 && (await labNamespaces()).length > 0) {
    const scratch = await mkdtemp(join(tmpdir(), 'ferry-lab-sweep-'));
    await labDown({ stateDir: scratch });
    await rm(scratch, { recursive: true, force: true });
  }
}

function ownerFile(stateDir: string): string {
  return join(OWNERS_DIR, `${process.pid}-${createHash('sha1').update(stateDir).digest('hex')}`);
}

/**
 * Makes this machine's one lab slot ours for the lab at `stateDir`: stale labs are taken down,
 * then we wait for a live one to go. Release it with releaseMachine once the lab is down.
 */
export async function claimMachine(stateDir: string): Promise<void> {
  const deadline = Date.now() + BUSY_MACHINE_TIMEOUT_MS;
  await removeStaleLabs();
  while ((await labNamespaces()).length > 0) {
    if (Date.now() > deadline) {
      throw new Error(
        `another lab (ferry-* namespaces: ${(await labNamespaces()).join(', ')}) is still up ` +
          'and its owner still runs: take it down first (npx ferry lab down)',
      );
    }
    await sleep(500);
    await removeStaleLabs();
  }
  await writeFile(ownerFile(stateDir), stateDir);
}

export async function releaseMachine(stateDir: string): Promise<void> {
  await rm(ownerFile(stateDir), { force: true });
}

export interface TestLab {
  /** The lab as labUp returned it; readable in tests, once beforeAll has brought it up. */
  readonly state: LabState;
}

/**
 * A lab of its own for the calling describe block: brought up in beforeAll under a fresh state
 * dir in the system's tmp dir, once any other lab on the machine is gone, and taken down in
 * afterAll, whatever happened in between.
 */
export function useLab(options: { hosts?: number; sharedStorage?: boolean } = {}): TestLab {
  let stateDir: string | undefined;
  let state: LabState | undefined;

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'ferry-lab-'));
    await claimMachine(stateDir);
    state = await labUp({
      stateDir,
      hosts: options.hosts ?? 2,
      cacheDir: CACHE_DIR,
      sharedStorage: options.sharedStorage,
    });
  });

  afterAll(async () => {
    if (!stateDir) return;
    await labDown({ stateDir });
    await releaseMachine(stateDir);
    await rm(stateDir, { recursive: true, force: true });
  });

  return {
    get state() {
      if (!state) throw new Error('the lab is not up (yet): read it inside tests');
      return state;
    },
  };
}
