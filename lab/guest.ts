/** Lab guests: booted on a host through its libvirtd, found again by asking every host's daemon. */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './command';
import { domainXml, guestFiles } from './guest-domain';
import { ensureGuestImage } from './guest-image';
import { exists } from './exists';
import { defaultStateDir, labEmulator, rootNamespacePath } from './layout';
import { waitFor } from './processes';
import { requireState, writeState, type LabHost, type LabState } from './state';

export interface BootGuestOptions {
  stateDir?: string;
  name: string;
  /** Name of the lab host to boot on, e.g. "host1". */
  host: string;
  /** Attach a qcow2 disk of this size; the guest writes its counter to its sector 0. */
  diskMb?: number;
  /**
   * MiB of random data written into the disk from 1 MiB on before boot (the guest never touches
   * it), so a copy of the disk can be checked against the original.
   */
  diskDataMb?: number;
  /** Fill those MiB with this text repeated instead of random bytes (to look for it on the wire). */
  diskDataText?: string;
  /** MiB of guest memory to rewrite in a loop. */
  dirtyMb?: number;
  memoryMb?: number;
}

export interface LabGuest {
  name: string;
  uuid: string;
  host: string;
  /** Root-namespace path of the serial console log on `host`. */
  serialLog: string;
}

const GUEST_NAME = /^[a-z][a-z0-9-]{0,31}$/;
const DEFAULT_MEMORY_MB = 128;
/** Memory the guest's kernel and busybox need besides the dirtied tmpfs. */
const GUEST_BASE_MB = 64;

function virsh(host: LabHost, args: string[]): Promise<string> {
  return run('virsh', ['-c', host.libvirtUri, ...args], { timeoutMs: 30_000 });
}

function findHost(state: LabState, name: string): LabHost {
  const host = state.hosts.find((candidate) => candidate.name === name);
  if (!host) {
    const names = state.hosts.map((candidate) => candidate.name).join(', ');
    throw new Error(`lab: no host ${name} (hosts: ${names})`);
  }
  return host;
}

/** Root-namespace path of a guest's directory on a host (create it before migrating there). */
export function guestDirOnHost(host: Pick<LabHost, 'rootPath'>, name: string): string {
  return rootNamespacePath(host.rootPath, guestFiles(name).dir);
}

function describeGuest(host: LabHost, name: string, uuid: string): LabGuest {
  return {
    name,
    uuid,
    host: host.name,
    serialLog: rootNamespacePath(host.rootPath, guestFiles(name).serialLog),
  };
}

/** Guests each host's libvirtd knows; for a host whose daemon is silent, the recorded ones. */
export async function listGuests(state: LabState): Promise<LabGuest[]> {
  const perHost = await Promise.all(
    state.hosts.map(async (host) => {
      const listing = await virsh(host, ['list', '--all', '--uuid', '--name']).catch(
        () => undefined,
      );
      if (listing === undefined) {
        return state.guests
          .filter((guest) => guest.host === host.name)
          .map((record) => describeGuest(host, record.name, record.uuid));
      }
      return listing
        .split('\n')
        .map((line) => line.trim().split(/\s+/))
        .filter((fields) => fields.length === 2)
        .map(([uuid, name]) => describeGuest(host, name, uuid));
    }),
  );
  return perHost.flat();
}

function checkOptions(options: BootGuestOptions, memoryMb: number, dirtyMb: number): void {
  if (!GUEST_NAME.test(options.name)) {
    throw new Error(`lab: guest name ${options.name} must match ${GUEST_NAME}`);
  }
  const sizes = {
    memoryMb,
    dirtyMb,
    diskMb: options.diskMb ?? 1,
    diskDataMb: options.diskDataMb ?? 0,
  };
  for (const [option, size] of Object.entries(sizes)) {
    if (!Number.isInteger(size) || size < 0) {
      throw new Error(`lab: ${option} must be a whole number of MiB, not ${size}`);
    }
  }
  if ((options.diskDataMb ?? 0) > 0 && (options.diskDataMb ?? 0) + 1 > (options.diskMb ?? 0)) {
    throw new Error(`lab: diskDataMb ${options.diskDataMb} needs diskMb of at least its size + 1`);
  }
  if (dirtyMb + GUEST_BASE_MB > memoryMb) {
    throw new Error(
      `lab: dirtyMb ${dirtyMb} needs memoryMb of at least ${dirtyMb + GUEST_BASE_MB}`,
    );
  }
}

const MiB = 1024 * 1024;

/** One MiB of disk data: random, or `text` repeated. */
function dataChunk(text: string | undefined): Buffer {
  if (text === undefined || text === '') return randomBytes(MiB);
  return Buffer.from(text.repeat(Math.ceil(MiB / Buffer.byteLength(text)))).subarray(0, MiB);
}

async function createGuestDisk(
  disk: string,
  sizeMb: number,
  dataMb: number,
  dataText: string | undefined,
): Promise<void> {
  if (dataMb === 0) {
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', disk, `${sizeMb}M`]);
    return;
  }
  const raw = `${disk}.raw`;
  const file = await open(raw, 'w');
  try {
    await file.truncate(sizeMb * MiB);
    for (let mb = 0; mb < dataMb; mb++)
      await file.write(dataChunk(dataText), 0, MiB, (1 + mb) * MiB);
  } finally {
    await file.close();
  }
  await run('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', raw, disk]);
  await rm(raw);
}

export async function bootGuest(options: BootGuestOptions): Promise<LabGuest> {
  const stateDir = options.stateDir ?? defaultStateDir();
  const memoryMb = options.memoryMb ?? DEFAULT_MEMORY_MB;
  const dirtyMb = options.dirtyMb ?? 0;
  checkOptions(options, memoryMb, dirtyMb);
  const state = await requireState(stateDir);
  const host = findHost(state, options.host);
  const existing = (await listGuests(state)).find((guest) => guest.name === options.name);
  if (existing) throw new Error(`lab: guest ${options.name} already exists on ${existing.host}`);

  if (!(await exists(labEmulator()))) {
    throw new Error(`lab: ${labEmulator()} is missing; run scripts/bootstrap`);
  }
  const image = await ensureGuestImage(state.cacheDir);
  const dir = guestDirOnHost(host, options.name);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const withDisk = options.diskMb !== undefined;
  if (withDisk) {
    const disk = rootNamespacePath(host.rootPath, guestFiles(options.name).disk);
    await createGuestDisk(disk, options.diskMb ?? 0, options.diskDataMb ?? 0, options.diskDataText);
  }
  // The definition goes to libvirt, not into the instance dir: ferry's clean-ups expect to find
  // there only what the domain names.
  const xmlDir = await mkdtemp(join(tmpdir(), 'ferry-lab-domain-'));
  try {
    const xmlFile = join(xmlDir, 'domain.xml');
    await writeFile(xmlFile, domainXml({ name: options.name, memoryMb, dirtyMb, withDisk, image }));
    await virsh(host, ['define', xmlFile]);
  } finally {
    await rm(xmlDir, { recursive: true, force: true });
  }
  await virsh(host, ['start', options.name]);
  const uuid = (await virsh(host, ['domuuid', options.name])).trim();

  const latest = await requireState(stateDir);
  latest.guests = [...latest.guests, { name: options.name, uuid, host: host.name }];
  await writeState(latest);
  return describeGuest(host, options.name, uuid);
}

const COUNTER_LINE = /ferry-guest \S+ counter (\d+)/g;

/** The last counter the guest printed to this serial log, or undefined if none yet. */
export async function readCounter(serialLog: string): Promise<number | undefined> {
  const text = await readFile(serialLog, 'utf8').catch(() => '');
  const matches = [...text.matchAll(COUNTER_LINE)];
  return matches.length === 0 ? undefined : Number(matches[matches.length - 1][1]);
}

/** Waits until the serial log shows a counter above `above` (default: any); returns it. */
export async function waitForCounter(
  serialLog: string,
  above = -1,
  timeoutMs = 30_000,
): Promise<number> {
  return waitFor(
    `a counter above ${above} in ${serialLog}`,
    async () => {
      const counter = await readCounter(serialLog);
      return counter !== undefined && counter > above ? counter : undefined;
    },
    timeoutMs,
  );
}
