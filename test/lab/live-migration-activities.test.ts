/**
 * The live-migration host activities on the lab: real libvirt daemons and QEMU guests, each
 * host's activities running inside that host (test/support/host-agent-process.ts) under Temporal's
 * MockActivityEnvironment, with a HostAgentContext whose reportProgress records its calls.
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import {
  DOMAIN_STATE,
  MIGRATE,
  openConnection,
  type Connection,
  type Domain,
} from '../../virt/libvirt/binding';
import {
  liveMigrationSettings,
  type LiveMigrationSettings,
} from '../../activities/host/live-migration/settings';
import { currentJob, migrationJobActive } from '../../virt/libvirt/domain-lookup';
import {
  bootGuest,
  guestDirOnHost,
  INSTANCES_DIR,
  readCounter,
  rootNamespacePath,
  waitForCounter,
  type LabGuest,
  type LabHost,
} from '../../lab';
import { domainXml } from '../../lab/guest-domain';
import { ensureGuestImage } from '../../lab/guest-image';
import { loadConfig } from '../../config';
import { projectRoot } from '../../config/project-root';
import type { MigrationProgress, SourceFacts } from '../../workflows/live-migration-contract';
import { startHostAgentProcess, type HostAgentProcess } from '../support/host-agent-process';
import { canRunLab, useLab } from '../support/lab';

const execFileAsync = promisify(execFile);
const MIB = 1024 ** 2;
const DEFAULTS = liveMigrationSettings(loadConfig({}));
/** Slow enough that 128 MiB of a memory-dirtying guest take far longer than the test waits. */
const SLOW_MIB_PER_S = 8;

function note(text: string): void {
  process.stdout.write(`live-migration-activities timing: ${text}\n`);
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

/** Names of the domains a host's libvirtd has defined or running, with whether each runs. */
async function domainsOn(conn: Connection): Promise<Record<string, boolean>> {
  const domains = await conn.listAllDomains();
  return Object.fromEntries(domains.map((domain) => [domain.name, domain.active]));
}

/** The guest's console log on `host`, as the root namespace sees it. */
function consoleLog(host: LabHost, name: string): string {
  return join(guestDirOnHost(host, name), 'console.log');
}

/** A disk image's bytes as raw, read even while QEMU holds it. */
async function rawImage(path: string, scratch: string): Promise<Buffer> {
  const raw = join(scratch, `${randomUUID()}.raw`);
  await execFileAsync('qemu-img', ['convert', '-U', '-f', 'qcow2', '-O', 'raw', path, raw]);
  try {
    return await readFile(raw);
  } finally {
    await rm(raw, { force: true });
  }
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

(canRunLab ? describe : describe.skip)('live-migration host activities on the lab', () => {
  const lab = useLab({ hosts: 2 });
  let scratch: string;
  let host1: LabHost;
  let host2: LabHost;
  let source: HostAgentProcess;
  let destination: HostAgentProcess;
  const agents: HostAgentProcess[] = [];
  const connections: Connection[] = [];
  let conn1: Connection;
  let conn2: Connection;

  async function agent(host: LabHost, settings: Partial<LiveMigrationSettings> = {}) {
    const started = await startHostAgentProcess(host, { ...DEFAULTS, ...settings }, scratch);
    agents.push(started);
    return started;
  }

  async function connect(host: LabHost): Promise<Connection> {
    const conn = await openConnection(host.libvirtUri);
    connections.push(conn);
    return conn;
  }

  async function boot(name: string, options: { diskMb?: number; dirtyMb?: number } = {}) {
    const started = Date.now();
    const guest = await bootGuest({
      stateDir: lab.state.stateDir,
      name,
      host: 'host1',
      ...options,
    });
    await waitForCounter(guest.serialLog, 0);
    note(`boot ${name} to first counter ${Date.now() - started} ms`);
    return guest;
  }

  /** Defines (without starting) a lab guest's domain on `conn`, with a UUID of its own. */
  async function defineOnly(conn: Connection, host: LabHost, name: string): Promise<Domain> {
    const image = await ensureGuestImage(lab.state.cacheDir);
    await mkdir(guestDirOnHost(host, name), { recursive: true });
    return conn.defineXML(domainXml({ name, memoryMb: 128, dirtyMb: 0, withDisk: false, image }));
  }

  function migrationRequest(guest: LabGuest, facts: SourceFacts, blockMigration: boolean) {
    return {
      migrationUuid: randomUUID(),
      instanceUuid: guest.uuid,
      destHost: host2.name,
      destLibvirtUri: host2.libvirtUriInLab,
      blockMigration,
      disks: facts.disks,
    };
  }

  /** Prepares host2 for a diskless guest: the directory of its console log. */
  async function consoleDirAtDestination(guest: LabGuest, facts: SourceFacts): Promise<string> {
    const prepared = await destination.call('prepareLiveMigrationDestination', {
      instanceUuid: guest.uuid,
      directories: facts.directories,
      disks: [],
      blockMigration: false,
    });
    expect(existsSync(guestDirOnHost(host2, guest.name))).toBe(true);
    return prepared.created[0] ?? join(INSTANCES_DIR, guest.name);
  }

  /** Waits until a run's heartbeats show the job moving memory. */
  async function moving(heartbeats: unknown[]): Promise<void> {
    const deadline = Date.now() + 30_000;
    const isMoving = (details: unknown) =>
      ((details as MigrationProgress | null)?.memoryProcessedBytes ?? 0) > 0;
    while (!heartbeats.some(isMoving)) {
      if (Date.now() > deadline) throw new Error('the job was never seen moving memory');
      await sleep(100);
    }
  }

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'ferry-live-migration-'));
    const started = Date.now();
    const tsc = require.resolve('typescript/bin/tsc');
    await execFileAsync(process.execPath, [tsc, '-p', join(projectRoot(), 'tsconfig.json')]).catch(
      () => undefined,
    );
    note(`tsc build ${Date.now() - started} ms`);
    expect(existsSync(join(projectRoot(), 'dist/test/support/host-agent-process.js'))).toBe(true);
    [host1, host2] = lab.state.hosts;
    const agentsStarted = Date.now();
    [source, destination] = await Promise.all([agent(host1), agent(host2)]);
    note(`two host agent processes up ${Date.now() - agentsStarted} ms`);
    [conn1, conn2] = await Promise.all([connect(host1), connect(host2)]);
  });

  afterAll(async () => {
    await Promise.all(agents.map((started) => started.stop()));
    await Promise.all(connections.map((conn) => conn.close()));
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  describe('a running diskless guest', () => {
    let alpha: LabGuest;
    let facts: SourceFacts;

    beforeAll(async () => {
      alpha = await boot('alpha');
    });

    it('pass for a running guest, the source describing the guest and its hypervisor', async () => {
      facts = await source.call('checkCanLiveMigrateSource', { instanceUuid: alpha.uuid });
      expect(facts).toMatchObject({
        disks: [],
        memoryMiB: 128,
        hypervisorType: 'QEMU',
        arch: 'x86_64',
      });
      expect(facts.guestCpuXml).toMatch(/^<cpu [\s\S]*qemu64[\s\S]*<\/cpu>$/);
      expect(facts.hypervisorVersion).toBeGreaterThan(7_000_000);

      const { storageProbe } = await destination.call('checkCanLiveMigrateDestination', {
        instanceUuid: alpha.uuid,
        instanceName: alpha.name,
        source: facts,
      });
      const probeOnHost2 = rootNamespacePath(host2.rootPath, join(INSTANCES_DIR, storageProbe));
      expect(existsSync(probeOnHost2)).toBe(true);
      expect(await destination.call('hasStorageProbe', { storageProbe })).toBe(true);
      expect(await source.call('hasStorageProbe', { storageProbe })).toBe(false);
      await destination.call('removeStorageProbe', { storageProbe });
      expect(existsSync(probeOnHost2)).toBe(false);
      await destination.call('removeStorageProbe', { storageProbe });
    });

    it('refuse a destination that already has a domain of the guest name', async () => {
      const clash = await defineOnly(conn2, host2, 'alpha');
      try {
        const message = await expectFailure(
          destination.call('checkCanLiveMigrateDestination', {
            instanceUuid: alpha.uuid,
            instanceName: alpha.name,
            source: facts,
          }),
          'MigrationPreCheckError',
        );
        expect(message).toContain(`host2 already has a domain`);
        expect(message).toContain(clash.getUUIDString());
      } finally {
        await clash.undefine();
        await clash.close();
      }
    });

    it.each([
      ['another hypervisor type', { hypervisorType: 'Xen' }, 'InvalidHypervisorType'],
      ['a newer hypervisor', { hypervisorVersion: 99_000_000 }, 'DestinationHypervisorTooOld'],
      [
        'a CPU no x86 host has (both svm and vmx)',
        {
          guestCpuXml:
            "<cpu mode='custom' match='exact'><model fallback='forbid'>qemu64</model>" +
            "<feature policy='require' name='svm'/><feature policy='require' name='vmx'/></cpu>",
        },
        'InvalidCPUInfo',
      ],
      [
        'more memory than the host has free',
        { memoryMiB: 64 * 1024 * 1024 },
        'MigrationPreCheckError',
      ],
    ])('refuse a source with %s', async (_, change, type) => {
      const message = await expectFailure(
        destination.call('checkCanLiveMigrateDestination', {
          instanceUuid: alpha.uuid,
          instanceName: alpha.name,
          source: { ...facts, ...change },
        }),
        type,
      );
      expect(message).toContain('host2');
    });

    it('refuse a stopped guest, and an instance with no domain', async () => {
      const stopped = await defineOnly(conn1, host1, 'stopped');
      try {
        const message = await expectFailure(
          source.call('checkCanLiveMigrateSource', { instanceUuid: stopped.getUUIDString() }),
          'InstanceInvalidState',
        );
        expect(message).toContain('is shutoff, not running');
      } finally {
        await stopped.undefine();
        await stopped.close();
      }
      const missing = randomUUID();
      const notFound = await expectFailure(
        source.call('checkCanLiveMigrateSource', { instanceUuid: missing }),
        'InstanceNotFound',
      );
      expect(notFound).toContain(missing);
    });

    it('live-migrate the running guest, which keeps counting on host2', async () => {
      expect(facts.directories).toEqual([join(INSTANCES_DIR, 'alpha')]);
      const prepared = await destination.call('prepareLiveMigrationDestination', {
        instanceUuid: alpha.uuid,
        directories: facts.directories,
        disks: [],
        blockMigration: false,
      });
      // The clash case above made alpha's directory on host2: prepare reports only what it made.
      expect(prepared.created).toEqual([]);
      expect(existsSync(guestDirOnHost(host2, 'alpha'))).toBe(true);
      const request = migrationRequest(alpha, facts, false);
      const before = (await readCounter(alpha.serialLog)) as number;
      const started = Date.now();
      const run = source.start('liveMigrate', request);
      const result = await run.result;
      note(
        `live migration of alpha (128 MiB): activity ${Date.now() - started} ms, ` +
          `libvirt elapsed ${result.elapsedMs} ms, downtime ${result.downtimeMs} ms`,
      );
      expect(result).toMatchObject({ attached: false, forced: null });
      expect(result.elapsedMs).toBeGreaterThan(0);
      expect(result.downtimeMs).toBeGreaterThan(0);
      expect(result.progress).toMatchObject({ percent: 100, memoryRemainingBytes: 0 });
      expect(result.progress.memoryTotalBytes).toBeGreaterThanOrEqual(128 * MIB);
      expect(run.heartbeats.length).toBeGreaterThan(0);
      const reports = source.progressReports.filter(
        (r) => r.migrationUuid === request.migrationUuid,
      );
      // A migration done before the first report sends none (no last report is sent): whatever
      // was reported while it ran is short of the result's final progress.
      for (const { progress } of reports) {
        expect(progress.memoryProcessedBytes).toBeLessThanOrEqual(
          result.progress.memoryProcessedBytes,
        );
        expect(progress.percent).toBeLessThanOrEqual(100);
      }

      expect((await domainsOn(conn1)).alpha).toBeUndefined();
      expect((await domainsOn(conn2)).alpha).toBe(true);
      const onHost2 = await waitForCounter(consoleLog(host2, 'alpha'), before);
      await waitForCounter(consoleLog(host2, 'alpha'), onHost2);
      expect(await source.call('locateInstance', { instanceUuid: alpha.uuid })).toEqual({
        presence: 'absent',
        migrating: false,
      });
      expect(await destination.call('locateInstance', { instanceUuid: alpha.uuid })).toEqual({
        presence: 'running',
        migrating: false,
      });

      const retried = Date.now();
      const again = await source.call('liveMigrate', request);
      note(`liveMigrate retried after completion: ${Date.now() - retried} ms`);
      expect(again).toMatchObject({ attached: true, elapsedMs: result.elapsedMs });
      expect((await domainsOn(conn2)).alpha).toBe(true);
    });
  });

  describe('block migration', () => {
    const PATTERNS = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88];
    let beta: LabGuest;

    beforeAll(async () => {
      beta = await boot('beta', { diskMb: 32 });
      const device = '/machine/peripheral/virtio-disk0/virtio-backend';
      for (const [index, pattern] of PATTERNS.entries()) {
        const write = `write -P ${pattern} ${1 + 3 * index}M 512k`;
        await execFileAsync('virsh', [
          '-c',
          host1.libvirtUri,
          'qemu-monitor-command',
          'beta',
          '--hmp',
          `qemu-io -d ${device} "${write}"`,
        ]);
      }
    });

    it('copies the disk into the image prepare created; the guest writes on at host2', async () => {
      const facts = await source.call('checkCanLiveMigrateSource', { instanceUuid: beta.uuid });
      const diskPath = join(INSTANCES_DIR, 'beta', 'disk.qcow2');
      expect(facts.disks).toEqual([
        { target: 'vda', path: diskPath, format: 'qcow2', virtualSizeBytes: 32 * MIB },
      ]);
      const request = migrationRequest(beta, facts, true);
      const prepare = {
        instanceUuid: beta.uuid,
        directories: facts.directories,
        disks: facts.disks,
        blockMigration: true,
      };
      const prepared = await destination.call('prepareLiveMigrationDestination', prepare);
      expect(prepared.created).toEqual([join(INSTANCES_DIR, 'beta'), diskPath]);
      const destImage = rootNamespacePath(host2.rootPath, diskPath);
      const { stdout } = await execFileAsync('qemu-img', ['info', '--output=json', destImage]);
      expect(JSON.parse(stdout)).toMatchObject({ format: 'qcow2', 'virtual-size': 32 * MIB });
      expect(await destination.call('prepareLiveMigrationDestination', prepare)).toEqual({
        created: [],
      });

      const started = Date.now();
      const result = await source.call('liveMigrate', request);
      note(
        `block migration of beta (128 MiB, 32 MiB disk): activity ${Date.now() - started} ms, ` +
          `libvirt elapsed ${result.elapsedMs} ms, downtime ${result.downtimeMs} ms`,
      );
      expect(result).toMatchObject({ attached: false, progress: { percent: 100 } });
      expect((await domainsOn(conn1)).beta).toBeUndefined();
      expect((await domainsOn(conn2)).beta).toBe(true);

      // The source image is final since its QEMU left; the guest only ever writes sector 0.
      const sourceImage = rootNamespacePath(host1.rootPath, diskPath);
      const [before, after] = await Promise.all([
        rawImage(sourceImage, scratch),
        rawImage(destImage, scratch),
      ]);
      const rest = (image: Buffer) => image.subarray(MIB);
      note(
        `beta's disk beyond 1 MiB: source ${sha256(rest(before))}, host2 ${sha256(rest(after))}`,
      );
      expect(sha256(rest(after))).toBe(sha256(rest(before)));
      for (const [index, pattern] of PATTERNS.entries()) {
        expect(after[(1 + 3 * index) * MIB]).toBe(pattern);
      }
      const counterIn = (image: Buffer) =>
        Number(/counter (\d+)/.exec(image.subarray(0, 512).toString('latin1'))?.[1]);
      expect(counterIn(after)).toBeGreaterThanOrEqual(counterIn(before));
      await waitForCounter(consoleLog(host2, 'beta'), counterIn(before));

      const cleanup = {
        instanceUuid: beta.uuid,
        disks: facts.disks,
        consoleFiles: facts.consoleFiles,
        sharedStorage: false,
      };
      await destination.call('cleanupLiveMigrationSource', cleanup);
      expect(existsSync(destImage)).toBe(true);
      await source.call('cleanupLiveMigrationSource', cleanup);
      expect(existsSync(sourceImage)).toBe(false);
      expect(existsSync(dirname(sourceImage))).toBe(false);
    });
  });

  describe('a memory-dirtying guest that does not converge at 8 MiB/s', () => {
    let gamma: LabGuest;
    let facts: SourceFacts;
    let consoleDir: string;

    beforeAll(async () => {
      gamma = await boot('gamma', { dirtyMb: 48 });
      facts = await source.call('checkCanLiveMigrateSource', { instanceUuid: gamma.uuid });
      consoleDir = await consoleDirAtDestination(gamma, facts);
    });

    async function stillOnHost1() {
      expect(await source.call('locateInstance', { instanceUuid: gamma.uuid })).toEqual({
        presence: 'running',
        migrating: false,
      });
      const atEnd = (await readCounter(gamma.serialLog)) as number;
      await waitForCounter(gamma.serialLog, atEnd);
    }

    it('cancelled: the job is aborted, the guest runs on at host1, and the rollback leaves nothing', async () => {
      const slow = await agent(host1, {
        bandwidthMiBs: SLOW_MIB_PER_S,
        completionTimeoutPerGiB: 0,
        progressTimeoutSeconds: 0,
      });
      const run = slow.start('liveMigrate', migrationRequest(gamma, facts, false));
      await moving(run.heartbeats);
      expect(await destination.call('locateInstance', { instanceUuid: gamma.uuid })).toEqual({
        presence: 'paused',
        migrating: true,
      });
      const cancelled = Date.now();
      run.cancel();
      const error = await run.result.catch((reason: unknown) => reason);
      note(
        `cancel to CancelledFailure (job aborted, migrateToURI3 back): ${Date.now() - cancelled} ms`,
      );
      expect(error).toBeInstanceOf(CancelledFailure);

      await stillOnHost1();
      await destination.call('rollbackLiveMigrationAtDestination', {
        instanceUuid: gamma.uuid,
        created: [consoleDir],
      });
      expect((await domainsOn(conn2)).gamma).toBeUndefined();
      expect(existsSync(guestDirOnHost(host2, 'gamma'))).toBe(false);
      await destination.call('rollbackLiveMigrationAtDestination', {
        instanceUuid: gamma.uuid,
        created: [consoleDir],
      });
      await consoleDirAtDestination(gamma, facts);
    });

    it('times out: with action abort the job is aborted and the activity fails with MigrationTimeout', async () => {
      const timing = await agent(host1, {
        bandwidthMiBs: SLOW_MIB_PER_S,
        completionTimeoutPerGiB: 1,
        progressTimeoutSeconds: 0,
      });
      const started = Date.now();
      const message = await expectFailure(
        timing.call('liveMigrate', migrationRequest(gamma, facts, false)),
        'MigrationTimeout',
      );
      note(
        `completion timeout of 2 s (1 s per GiB, 2 GiB) to MigrationTimeout: ${Date.now() - started} ms`,
      );
      expect(message).toContain('completion timeout of 2 s');
      await stillOnHost1();
      expect((await domainsOn(conn2)).gamma).toBeUndefined();
    });

    it('forced to complete at the timeout: paused until the job converges, then runs at host2', async () => {
      const forcing = await agent(host1, {
        bandwidthMiBs: SLOW_MIB_PER_S,
        completionTimeoutPerGiB: 1,
        timeoutAction: 'force_complete',
        progressTimeoutSeconds: 0,
      });
      const run = forcing.start('liveMigrate', migrationRequest(gamma, facts, false));
      const watched = await conn1.lookupByUUIDString(gamma.uuid);
      const deadline = Date.now() + 20_000;
      while ((await watched.getState()).state !== DOMAIN_STATE.PAUSED) {
        if (Date.now() > deadline) throw new Error('the monitor never paused the guest');
        await sleep(100);
      }
      expect(await source.call('locateInstance', { instanceUuid: gamma.uuid })).toEqual({
        presence: 'paused',
        migrating: true,
      });
      expect(await forcing.call('forceCompleteLiveMigration', { instanceUuid: gamma.uuid })).toBe(
        'paused',
      );
      await watched.migrateSetMaxSpeed(10_000);
      await watched.close();
      const result = await run.result;
      note(`forced (paused) migration of gamma: downtime ${result.downtimeMs} ms`);
      expect(result).toMatchObject({ attached: false, forced: 'paused' });
      expect((await domainsOn(conn2)).gamma).toBe(true);
      expect(await destination.call('locateInstance', { instanceUuid: gamma.uuid })).toEqual({
        presence: 'running',
        migrating: false,
      });
      expect(await forcing.call('forceCompleteLiveMigration', { instanceUuid: gamma.uuid })).toBe(
        'no-job',
      );
      const atEnd = (await readCounter(consoleLog(host2, 'gamma'))) as number;
      await waitForCounter(consoleLog(host2, 'gamma'), atEnd);
    });
  });

  it('forced to complete with post-copy permitted: the job switches to post-copy and completes', async () => {
    const epsilon = await boot('epsilon', { dirtyMb: 48 });
    const facts = await source.call('checkCanLiveMigrateSource', { instanceUuid: epsilon.uuid });
    await consoleDirAtDestination(epsilon, facts);
    const postCopying = await agent(host1, {
      bandwidthMiBs: SLOW_MIB_PER_S,
      completionTimeoutPerGiB: 1,
      timeoutAction: 'force_complete',
      progressTimeoutSeconds: 0,
      permitPostCopy: true,
    });
    const started = Date.now();
    const result = await postCopying.call('liveMigrate', migrationRequest(epsilon, facts, false));
    note(`post-copy forced at the 2 s timeout: activity ${Date.now() - started} ms`);
    // libvirt 9.0 keeps no completed job stats after post-copy: no elapsed time, no downtime.
    expect(result).toMatchObject({
      attached: false,
      forced: 'post-copy',
      elapsedMs: null,
      downtimeMs: null,
      progress: { percent: 100, postCopy: true },
    });
    expect((await domainsOn(conn1)).epsilon).toBeUndefined();
    expect((await domainsOn(conn2)).epsilon).toBe(true);
    const atEnd = (await readCounter(consoleLog(host2, 'epsilon'))) as number;
    await waitForCounter(consoleLog(host2, 'epsilon'), atEnd);
  });

  it('a retried liveMigrate attaches to the job already running instead of starting one', async () => {
    const delta = await boot('delta', { dirtyMb: 16 });
    const facts = await source.call('checkCanLiveMigrateSource', { instanceUuid: delta.uuid });
    await consoleDirAtDestination(delta, facts);
    const migrating = await conn1.lookupByUUIDString(delta.uuid);
    const flags = MIGRATE.LIVE | MIGRATE.PEER2PEER | MIGRATE.PERSIST_DEST | MIGRATE.UNDEFINE_SOURCE;
    const first = migrating.migrateToURI3(
      host2.libvirtUriInLab,
      { bandwidthMiBs: SLOW_MIB_PER_S },
      flags,
    );
    const firstEnded = first.then(
      () => 'completed',
      (error: Error) => `failed: ${error.message}`,
    );

    // The retry comes after the first attempt's job is running, as after an agent's restart:
    // migrateToURI3 returns a promise before libvirtd has begun the job.
    const control = await openConnection(host1.libvirtUri);
    const watched = await control.lookupByUUIDString(delta.uuid);
    const deadline = Date.now() + 30_000;
    while (!migrationJobActive(await currentJob(watched))) {
      if (Date.now() > deadline) throw new Error("the first attempt's job never began");
      await sleep(50);
    }

    const request = migrationRequest(delta, facts, false);
    const started = Date.now();
    const run = source.start('liveMigrate', request);
    await moving(run.heartbeats);
    note(`attached and monitoring after ${Date.now() - started} ms`);
    await watched.migrateSetMaxSpeed(10_000);
    await control.close();

    const result = await run.result;
    note(`attached liveMigrate returned ${Date.now() - started} ms after it started`);
    expect(result).toMatchObject({ attached: true, progress: { percent: 100 } });
    expect(result.downtimeMs).toBeGreaterThan(0);
    expect(await firstEnded).toBe('completed');
    await migrating.close();
    expect((await domainsOn(conn1)).delta).toBeUndefined();
    expect((await domainsOn(conn2)).delta).toBe(true);
    // The heartbeat that showed the job moving came with the monitor's first offer to report.
    const reports = source.progressReports.filter((r) => r.migrationUuid === request.migrationUuid);
    expect(reports.length).toBeGreaterThan(0);
  });
});
