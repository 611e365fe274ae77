import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { labDown, labUp, type LabState } from '../../lab';
import { projectRoot } from '../../worker/project-root';

/** Root with libvirtd installed: what the lab needs. Describe lab tests with `describe.skip` otherwise. */
export const canRunLab = process.getuid?.() === 0 && existsSync('/usr/sbin/libvirtd');

/** The default lab's cache (QEMU capabilities, guest image), kept warm across runs. */
const CACHE_DIR = join(projectRoot(), 'data', 'lab', 'cache');

/** How long to wait for another lab on this machine (one per machine) to go. */
const BUSY_MACHINE_TIMEOUT_MS = 60_000;

async function labNamespaces(): Promise<string[]> {
  const { stdout } = await promisify(execFile)('ip', ['netns', 'list']);
  return stdout.split('\n').filter((line) => line.startsWith('ferry-'));
}

/** Waits until no other lab is up on this machine (there can be only one). */
export async function waitForFreeMachine(): Promise<void> {
  const deadline = Date.now() + BUSY_MACHINE_TIMEOUT_MS;
  while ((await labNamespaces()).length > 0) {
    if (Date.now() > deadline) {
      throw new Error('another lab (ferry-* namespaces) is still up: take it down first');
    }
    await sleep(500);
  }
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
export function useLab(options: { hosts?: number } = {}): TestLab {
  let stateDir: string | undefined;
  let state: LabState | undefined;

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'ferry-lab-'));
    await waitForFreeMachine();
    state = await labUp({ stateDir, hosts: options.hosts ?? 2, cacheDir: CACHE_DIR });
  });

  afterAll(async () => {
    if (!stateDir) return;
    await labDown({ stateDir });
    await rm(stateDir, { recursive: true, force: true });
  });

  return {
    get state() {
      if (!state) throw new Error('the lab is not up (yet): read it inside tests');
      return state;
    },
  };
}
