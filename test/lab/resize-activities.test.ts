/**
 * The resize host activities on the lab: real libvirt daemons, QEMU guests and sshd, each activity
 * run inside its host (test/support/resize-activity-runner.ts) under Temporal's
 * MockActivityEnvironment. A cold migration with a bigger flavor from host1 to host2, its revert,
 * a second one confirmed, and a resize in place.
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { CopyHeartbeat } from '../../activities/host/resize/copy-to-peer';
import {
  bootGuest,
  guestDirOnHost,
  readCounter,
  rootNamespacePath,
  waitForCounter,
  type LabGuest,
  type LabHost,
} from '../../lab';
import { guestFiles } from '../../lab/guest-domain';
import { projectRoot } from '../../config/project-root';
import type { InstanceSize } from '../../workflows/operation-types';
import type { ResizeSourceSnapshot } from '../../workflows/resize-contract';
import { canRunLab, useLab } from '../support/lab';
import { labPeer, runResizeActivity } from '../support/resize-activity-runner';

const execFileAsync = promisify(execFile);
const MIB = 1024 ** 2;
const GIB = 1024 ** 3;
const SECTOR = 512;
const DISK_MB = 512;
const DISK_DATA_MB = 384;
const OLD_SIZE: InstanceSize = { vcpus: 1, memoryMiB: 128, rootDiskGiB: 0 };
const NEW_SIZE: InstanceSize = { vcpus: 2, memoryMiB: 192, rootDiskGiB: 1 };
const SHUTDOWN_TIMEOUT_SECONDS = 30;

function timing(text: string): void {
  console.log(`resize timing: ${text}`);
}

async function virsh(host: LabHost, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('virsh', ['-c', host.libvirtUri, ...args]);
  return stdout;
}

/** The guest domains a host's libvirtd has, with whether each runs. */
async function domainsOn(host: LabHost): Promise<Record<string, boolean>> {
  const [all, running] = await Promise.all([
    virsh(host, ['list', '--all', '--name']),
    virsh(host, ['list', '--name']),
  ]);
  const names = (text: string) => text.split('\n').filter((name) => name.trim() !== '');
  return Object.fromEntries(names(all).map((name) => [name, names(running).includes(name)]));
}

/** What `virsh dumpxml` shows of a domain's identity and size. */
async function definition(host: LabHost, name: string) {
  const xml = await virsh(host, ['dumpxml', '--inactive', name]);
  const text = (pattern: RegExp) => pattern.exec(xml)?.[1];
  return {
    uuid: text(/<uuid>([^<]+)<\/uuid>/),
    vcpus: Number(text(/<vcpu\b[^>]*>(\d+)<\/vcpu>/)),
    memoryKiB: Number(text(/<memory unit='KiB'>(\d+)<\/memory>/)),
    currentMemoryKiB: Number(text(/<currentMemory unit='KiB'>(\d+)<\/currentMemory>/)),
    disk: text(/<source file='([^']+)'/),
  };
}

function diskOn(host: LabHost, name: string): string {
  return rootNamespacePath(host.rootPath, guestFiles(name).disk);
}

function serialLogOn(host: LabHost, name: string): string {
  return rootNamespacePath(host.rootPath, guestFiles(name).serialLog);
}

async function virtualSize(path: string): Promise<number> {
  const { stdout } = await execFileAsync('qemu-img', ['info', '-U', '--output=json', path]);
  return (JSON.parse(stdout) as { 'virtual-size': number })['virtual-size'];
}

async function sha256File(path: string, range: { start?: number; end?: number } = {}) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, range)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * SHA-256 of the guest's disk as the guest sees it, from sector 1 to the original size: the data
 * bootGuest wrote (the guest itself rewrites sector 0 only). Read even while QEMU runs it.
 */
async function guestData(image: string, scratch: string): Promise<string> {
  const raw = join(scratch, `${randomUUID()}.raw`);
  await execFileAsync('qemu-img', ['convert', '-U', '-O', 'raw', image, raw]);
  try {
    return await sha256File(raw, { start: SECTOR, end: DISK_MB * MIB - 1 });
  } finally {
    await rm(raw, { force: true });
  }
}

/** Waits until the guest counts in a log that shows a boot after `before` (its earlier text). */
async function countsAfterBoot(log: string, before: string): Promise<number> {
  const booted = async () => {
    const text = await readFile(log, 'utf8').catch(() => '');
    const fresh = text.startsWith(before) ? text.slice(before.length) : text;
    return /counter \d+/.test(fresh) ? ((await readCounter(log)) as number) : undefined;
  };
  const deadline = Date.now() + 30_000;
  let first = await booted();
  while (first === undefined) {
    if (Date.now() > deadline) throw new Error(`no counter after a boot in ${log}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    first = await booted();
  }
  return waitForCounter(log, first);
}

async function expectFailure(promise: Promise<unknown>, type: string): Promise<string> {
  const error = await promise.then(
    () => new Error(`expected a ${type} failure`),
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ApplicationFailure);
  expect(error).toMatchObject({ type, nonRetryable: true });
  return (error as ApplicationFailure).message;
}

(canRunLab ? describe : describe.skip)('resize host activities on the lab', () => {
  const lab = useLab({ hosts: 2 });
  let scratch: string;
  let host1: LabHost;
  let host2: LabHost;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'ferry-resize-'));
    const started = Date.now();
    const tsc = require.resolve('typescript/bin/tsc');
    await execFileAsync(process.execPath, [tsc, '-p', join(projectRoot(), 'tsconfig.json')]).catch(
      () => undefined,
    );
    timing(`tsc build ${Date.now() - started} ms`);
    expect(existsSync(join(projectRoot(), 'dist/test/support/resize-activity-runner.js'))).toBe(
      true,
    );
    [host1, host2] = lab.state.hosts;
  });

  afterAll(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  async function boot(name: string): Promise<LabGuest> {
    const started = Date.now();
    const guest = await bootGuest({
      stateDir: lab.state.stateDir,
      name,
      host: 'host1',
      diskMb: DISK_MB,
      diskDataMb: DISK_DATA_MB,
    });
    await waitForCounter(guest.serialLog, 0);
    timing(`boot ${name} with ${DISK_DATA_MB} MiB of disk data ${Date.now() - started} ms`);
    return guest;
  }

  async function powerOff(guest: LabGuest, setAside = true) {
    return runResizeActivity(host1, 'powerOffAndSetAsideSource', {
      instanceUuid: guest.uuid,
      shutdownTimeoutSeconds: SHUTDOWN_TIMEOUT_SECONDS,
      setAside,
    });
  }

  function copyRequest(guest: LabGuest, snapshot: ResizeSourceSnapshot) {
    return {
      instanceUuid: guest.uuid,
      disk: snapshot.disks[0],
      asideDir: snapshot.asideDir as string,
      destHost: 'host2',
      dest: labPeer(host2),
    };
  }

  describe('a cold migration with a bigger flavor from host1 to host2, reverted', () => {
    let guest: LabGuest;
    let dataBefore: string;
    let snapshot: ResizeSourceSnapshot;
    let asidePath: string;

    beforeAll(async () => {
      guest = await boot('resizer');
      dataBefore = await guestData(diskOn(host1, 'resizer'), scratch);
    });

    it('powers the guest off gracefully and sets its disk aside; a retry returns the same', async () => {
      const { result, ms } = await powerOff(guest);
      timing(`power off (ACPI, graceful) and set aside ${ms} ms`);
      snapshot = result;

      const diskPath = guestFiles('resizer').disk;
      expect(snapshot).toMatchObject({
        asideDir: `${guestFiles('resizer').dir}_resize`,
        disks: [
          { target: 'vda', path: diskPath, format: 'qcow2', virtualSizeBytes: DISK_MB * MIB },
        ],
        powerOff: 'graceful',
        wasRunning: true,
      });
      expect(snapshot.domainXml).toContain(`<uuid>${guest.uuid}</uuid>`);
      expect(snapshot.domainXml).not.toMatch(/<domain type='qemu' id=/);
      expect(await domainsOn(host1)).toMatchObject({ resizer: false });
      asidePath = rootNamespacePath(host1.rootPath, `${snapshot.asideDir}/disk.qcow2`);
      expect(existsSync(diskOn(host1, 'resizer'))).toBe(false);
      expect(existsSync(asidePath)).toBe(true);

      const retried = await powerOff(guest);
      timing(`power off retried ${retried.ms} ms`);
      expect(retried.result).toEqual(snapshot);
    });

    it('copies the disk to host2; a cancelled copy resumes from its last heartbeat', async () => {
      const request = copyRequest(guest, snapshot);
      const offsets: number[] = [];
      const { size, blocks } = await stat(asidePath);
      let cancelled = false;
      const started = Date.now();
      const first = runResizeActivity(host1, 'copyDiskToHost', request, {
        onHeartbeat: (details, cancel) => {
          const { offset } = details as CopyHeartbeat;
          offsets.push(offset);
          if (offset > size / 3 && !cancelled) {
            cancelled = true;
            cancel();
          }
        },
      });
      expect(await first.catch((reason: unknown) => reason)).toBeInstanceOf(CancelledFailure);
      const resumeFrom = offsets.at(-1) as number;
      timing(
        `copy cancelled after ${Date.now() - started} ms at offset ` +
          `${(resumeFrom / MIB).toFixed(1)} MiB of ${(size / MIB).toFixed(1)} MiB`,
      );
      expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
      expect(resumeFrom).toBeGreaterThan(size / 3);
      expect(resumeFrom).toBeLessThan(size);

      const resumed = await runResizeActivity(host1, 'copyDiskToHost', request, {
        heartbeatDetails: { offset: resumeFrom } satisfies CopyHeartbeat,
      });
      timing(
        `resumed copy ${resumed.ms} ms, ${(resumed.result.bytesSent / MIB).toFixed(1)} MiB sent ` +
          `of ${((blocks * SECTOR) / MIB).toFixed(1)} MiB allocated`,
      );
      expect(resumed.heartbeats[0]).toEqual({ offset: resumeFrom });
      expect(resumed.heartbeats.at(-1)).toEqual({ offset: size });
      expect(resumed.result.bytesSent).toBeGreaterThan(0);
      expect(resumed.result.bytesSent).toBeLessThanOrEqual(size - resumeFrom);
      expect(resumed.result.bytesSent).toBeLessThan(0.75 * blocks * SECTOR);
      const copied = diskOn(host2, 'resizer');
      expect(await sha256File(copied)).toBe(await sha256File(asidePath));
    });

    it('finishes on host2 with 2 vCPUs, 192 MiB and a 1 GiB root disk; the guest counts there', async () => {
      const finish = () =>
        runResizeActivity(host2, 'finishResizeAtDestination', {
          instanceUuid: guest.uuid,
          domainXml: snapshot.domainXml,
          disks: snapshot.disks,
          size: NEW_SIZE,
          start: snapshot.wasRunning,
        });
      const started = Date.now();
      const { ms } = await finish();
      const counting = await waitForCounter(serialLogOn(host2, 'resizer'), 0);
      timing(
        `finish (grow, define, start) ${ms} ms; guest counting on host2 ` +
          `${Date.now() - started} ms after finish began`,
      );

      expect(await domainsOn(host2)).toEqual({ resizer: true });
      expect(await definition(host2, 'resizer')).toEqual({
        uuid: guest.uuid,
        vcpus: 2,
        memoryKiB: 192 * 1024,
        currentMemoryKiB: 192 * 1024,
        disk: guestFiles('resizer').disk,
      });
      expect(await virtualSize(diskOn(host2, 'resizer'))).toBe(GIB);
      expect(await guestData(diskOn(host2, 'resizer'), scratch)).toBe(dataBefore);

      const retried = await finish();
      timing(`finish retried on the running guest ${retried.ms} ms`);
      expect(await domainsOn(host2)).toEqual({ resizer: true });
      await waitForCounter(serialLogOn(host2, 'resizer'), counting);
    });

    it('reverts: nothing left on host2, and on host1 the guest counts with its old size and data', async () => {
      const remove = () =>
        runResizeActivity(host2, 'removeResizedInstance', {
          instanceUuid: guest.uuid,
          disks: snapshot.disks,
        });
      const removed = await remove();
      timing(`remove resized instance on host2 ${removed.ms} ms`);
      expect(await domainsOn(host2)).toEqual({});
      expect(existsSync(guestDirOnHost(host2, 'resizer'))).toBe(false);
      await remove();

      const logBefore = await readFile(guest.serialLog, 'utf8');
      const restore = () =>
        runResizeActivity(host1, 'restoreSource', {
          instanceUuid: guest.uuid,
          domainXml: snapshot.domainXml,
          asideDir: snapshot.asideDir,
          disks: snapshot.disks,
          start: snapshot.wasRunning,
        });
      const started = Date.now();
      const restored = await restore();
      const counting = await countsAfterBoot(guest.serialLog, logBefore);
      timing(
        `restore source ${restored.ms} ms; guest counting on host1 ${Date.now() - started} ms ` +
          'after restore began',
      );
      expect(await domainsOn(host1)).toEqual({ resizer: true });
      expect(await definition(host1, 'resizer')).toMatchObject({
        uuid: guest.uuid,
        vcpus: 1,
        memoryKiB: 128 * 1024,
      });
      expect(existsSync(rootNamespacePath(host1.rootPath, snapshot.asideDir as string))).toBe(
        false,
      );
      expect(await virtualSize(diskOn(host1, 'resizer'))).toBe(DISK_MB * MIB);
      expect(await guestData(diskOn(host1, 'resizer'), scratch)).toBe(dataBefore);

      await restore();
      await waitForCounter(guest.serialLog, counting);
    });

    it('cold-migrates again and confirms: host1 keeps no domain and no aside dir', async () => {
      const { result: again } = await powerOff(guest);
      // As if an earlier attempt had copied half, but the destination's file is gone meanwhile.
      const staleOffset = 192 * MIB;
      const copy = await runResizeActivity(host1, 'copyDiskToHost', copyRequest(guest, again), {
        heartbeatDetails: { offset: staleOffset } satisfies CopyHeartbeat,
      });
      timing(
        `whole copy after a resume found no file ${copy.ms} ms, ` +
          `${(copy.result.bytesSent / MIB).toFixed(1)} MiB sent`,
      );
      const offsets = (copy.heartbeats as CopyHeartbeat[]).map(({ offset }) => offset);
      expect(offsets[0]).toBe(staleOffset);
      expect(offsets.find((offset) => offset !== staleOffset)).toBe(0);
      const { blocks } = await stat(diskOn(host2, 'resizer'));
      expect(copy.result.bytesSent).toBeGreaterThan(0.9 * blocks * SECTOR);
      await runResizeActivity(host2, 'finishResizeAtDestination', {
        instanceUuid: guest.uuid,
        domainXml: again.domainXml,
        disks: again.disks,
        size: OLD_SIZE,
        start: true,
      });
      const counting = await waitForCounter(serialLogOn(host2, 'resizer'), 0);
      expect(await virtualSize(diskOn(host2, 'resizer'))).toBe(DISK_MB * MIB);

      const confirm = () =>
        runResizeActivity(host1, 'confirmResizeAtSource', {
          instanceUuid: guest.uuid,
          asideDir: again.asideDir,
        });
      const confirmed = await confirm();
      timing(`confirm at source ${confirmed.ms} ms`);
      expect(await domainsOn(host1)).toEqual({});
      expect(existsSync(rootNamespacePath(host1.rootPath, again.asideDir as string))).toBe(false);
      expect(existsSync(guest.serialLog)).toBe(false);
      await confirm();
      expect(await domainsOn(host2)).toEqual({ resizer: true });
      await waitForCounter(serialLogOn(host2, 'resizer'), counting);
    });
  });

  it('resizes a guest on its own host and reverts it there', async () => {
    const guest = await boot('inplace');
    const { result: snapshot } = await powerOff(guest, false);
    expect(snapshot).toMatchObject({ asideDir: null, wasRunning: true, powerOff: 'graceful' });
    expect(existsSync(diskOn(host1, 'inplace'))).toBe(true);
    const offLog = await readFile(guest.serialLog, 'utf8');
    const finished = await runResizeActivity(host1, 'finishResizeAtDestination', {
      instanceUuid: guest.uuid,
      domainXml: snapshot.domainXml,
      disks: snapshot.disks,
      size: NEW_SIZE,
      start: true,
    });
    timing(`finish in place ${finished.ms} ms`);
    expect(await definition(host1, 'inplace')).toMatchObject({ vcpus: 2, memoryKiB: 192 * 1024 });
    await countsAfterBoot(guest.serialLog, offLog);

    await powerOff(guest, false);
    const logBefore = await readFile(guest.serialLog, 'utf8');
    await runResizeActivity(host1, 'restoreSource', {
      instanceUuid: guest.uuid,
      domainXml: snapshot.domainXml,
      asideDir: null,
      disks: snapshot.disks,
      start: true,
    });
    await countsAfterBoot(guest.serialLog, logBefore);
    expect(await domainsOn(host1)).toMatchObject({ inplace: true });
    expect(await definition(host1, 'inplace')).toMatchObject({ vcpus: 1, memoryKiB: 128 * 1024 });
    expect(await virtualSize(diskOn(host1, 'inplace'))).toBe(GIB);
  });

  it('refuses an unknown instance, a definition that is none, and an unregistered destination', async () => {
    const missing = randomUUID();
    const notFound = await expectFailure(
      runResizeActivity(host1, 'powerOffAndSetAsideSource', {
        instanceUuid: missing,
        shutdownTimeoutSeconds: 1,
        setAside: true,
      }),
      'InstanceNotFound',
    );
    expect(notFound).toContain(`instance ${missing} has no domain on host1`);

    const notXml = await expectFailure(
      runResizeActivity(host2, 'finishResizeAtDestination', {
        instanceUuid: missing,
        domainXml: '<network/>',
        disks: [],
        size: NEW_SIZE,
        start: true,
      }),
      'MigrationError',
    );
    expect(notXml).toContain('finishResizeAtDestination on host2');
    expect(notXml).toContain('no <domain> element');

    const unknownPeer = await expectFailure(
      runResizeActivity(host1, 'copyDiskToHost', {
        instanceUuid: missing,
        disk: {
          target: 'vda',
          path: guestFiles('inplace').disk,
          format: 'qcow2',
          virtualSizeBytes: GIB,
        },
        asideDir: `${guestFiles('inplace').dir}_resize`,
        destHost: 'host3',
      }),
      'MigrationError',
    );
    expect(unknownPeer).toBe(
      'cannot copy disks from host1 to host3: the request does not describe it ' +
        '(its sshd and host key come from the control plane)',
    );
  });
});
