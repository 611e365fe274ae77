import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  defineDomain,
  destroyDomain,
  shutdownDomain,
  startDomain,
  undefineDomain,
} from '../../virt/libvirt/domain-lifecycle';
import {
  DOMAIN_STATE,
  JOB_STATS,
  JOB_TYPE,
  LibvirtError,
  MIGRATE,
  VIR_ERR,
  openConnection,
  type Connection,
  type Domain,
  type JobStats,
} from '../../virt/libvirt/binding';
import type { HypervisorDomain } from '../../virt/driver';
import { bootGuest, guestDirOnHost, readCounter, waitForCounter, type LabHost } from '../../lab';
import { domainXml } from '../../lab/guest-domain';
import { ensureGuestImage } from '../../lab/guest-image';
import { canRunLab, useLab } from '../support/lab';

/** virDomainShutoffReason values: why a shut-off domain is off. */
const SHUTOFF_REASON = { SHUTDOWN: 1, DESTROYED: 2 } as const;

const LIVE_MIGRATION =
  MIGRATE.LIVE | MIGRATE.PEER2PEER | MIGRATE.PERSIST_DEST | MIGRATE.UNDEFINE_SOURCE;

/** Slow enough that 128 MiB of guest memory takes over 15 s: the monitor sees the job running. */
const SLOW_MIB_PER_S = 8;

function note(text: string): void {
  process.stdout.write(`libvirt-lab timing: ${text}\n`);
}

async function timed<T>(label: string, action: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const result = await action();
  note(`${label} ${Date.now() - started} ms`);
  return result;
}

function consoleLog(host: LabHost, name: string): string {
  return join(guestDirOnHost(host, name), 'console.log');
}

async function rejection(promise: Promise<unknown>): Promise<LibvirtError> {
  const error = await promise.then(
    () => new Error('expected a rejection'),
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(LibvirtError);
  return error as LibvirtError;
}

async function names(conn: Connection): Promise<string[]> {
  return (await conn.listAllDomains()).map((domain) => domain.name).sort();
}

/**
 * Polls the job on `watched` (a second connection's handle) every 250 ms until data is moving,
 * failing if `migration` settles first.
 */
async function runningJob(watched: Domain, migration: Promise<void>): Promise<JobStats> {
  let settled = false;
  const settle = () => (settled = true);
  migration.then(settle, settle);
  const deadline = Date.now() + 30_000;
  while (!settled && Date.now() < deadline) {
    const stats = await watched.getJobStats();
    if (stats.type === JOB_TYPE.UNBOUNDED && (stats.dataProcessed ?? 0) > 0) return stats;
    await sleep(250);
  }
  throw new Error(`the migration job was never seen moving data (settled: ${settled})`);
}

(canRunLab ? describe : describe.skip)("the lab's libvirt daemons, through the addon", () => {
  const lab = useLab({ hosts: 2 });

  describe('domain lifecycle', () => {
    let conn: Connection;
    let honouring: HypervisorDomain;
    let ignoring: HypervisorDomain;

    /** A lab guest with ACPI; `acpi=off` on its kernel command line makes it ignore the button. */
    async function defineGuest(name: string, kernelArgs: string): Promise<HypervisorDomain> {
      const [host1] = lab.state.hosts;
      const image = await ensureGuestImage(lab.state.cacheDir);
      const xml = domainXml({ name, memoryMb: 128, dirtyMb: 0, withDisk: false, image }).replace(
        '</cmdline>',
        ` ${kernelArgs}</cmdline>`,
      );
      await mkdir(guestDirOnHost(host1, name), { recursive: true });
      return defineDomain(conn, xml);
    }

    beforeAll(async () => {
      conn = await openConnection(lab.state.hosts[0].libvirtUri);
    });

    afterAll(async () => {
      await conn?.close();
    });

    it('defines and starts guests, a second start changing nothing', async () => {
      honouring = await defineGuest('honouring', '');
      ignoring = await defineGuest('ignoring', 'acpi=off');
      expect(await startDomain(honouring)).toBe(true);
      expect(await startDomain(ignoring)).toBe(true);
      expect(await startDomain(honouring)).toBe(false);
      const [host1] = lab.state.hosts;
      await timed('define + start to first counter', () =>
        Promise.all([
          waitForCounter(consoleLog(host1, 'honouring'), 0),
          waitForCounter(consoleLog(host1, 'ignoring'), 0),
        ]),
      );
      const listed = await conn.listAllDomains();
      expect(listed.filter(({ active }) => active).map(({ name }) => name)).toEqual(
        expect.arrayContaining(['honouring', 'ignoring']),
      );
    });

    it('shuts down gracefully a guest that powers off on the ACPI power button', async () => {
      const started = Date.now();
      expect(await shutdownDomain(honouring, { timeoutMs: 20_000 })).toBe('graceful');
      note(`graceful shutdown ${Date.now() - started} ms`);
      expect(await honouring.getState()).toEqual({
        state: DOMAIN_STATE.SHUTOFF,
        reason: SHUTOFF_REASON.SHUTDOWN,
      });
      const log = await readFile(consoleLog(lab.state.hosts[0], 'honouring'), 'utf8');
      expect(log).toContain('ferry-guest honouring powering off');
      expect(await honouring.isPersistent()).toBe(true);
      expect(await shutdownDomain(honouring, { timeoutMs: 20_000 })).toBe('already-off');
    });

    it('destroys a guest that ignores the power button once the timeout has passed', async () => {
      const started = Date.now();
      expect(await shutdownDomain(ignoring, { timeoutMs: 1_500 })).toBe('destroyed');
      const elapsed = Date.now() - started;
      note(`shutdown with a 1500 ms timeout, destroyed at ${elapsed} ms`);
      expect(elapsed).toBeGreaterThanOrEqual(1_500);
      expect(await ignoring.getState()).toEqual({
        state: DOMAIN_STATE.SHUTOFF,
        reason: SHUTOFF_REASON.DESTROYED,
      });
      const log = await readFile(consoleLog(lab.state.hosts[0], 'ignoring'), 'utf8');
      expect(log).not.toContain('powering off');
    });

    it('destroys a running guest, and accepts one that is already off', async () => {
      expect(await startDomain(honouring)).toBe(true);
      expect(await destroyDomain(honouring)).toBe(true);
      expect(await honouring.getState()).toEqual({
        state: DOMAIN_STATE.SHUTOFF,
        reason: SHUTOFF_REASON.DESTROYED,
      });
      expect(await destroyDomain(honouring)).toBe(false);
    });

    it('undefines guests, and accepts ones no longer defined', async () => {
      expect(await undefineDomain(conn, honouring.getUUIDString())).toBe(true);
      expect(await undefineDomain(conn, honouring.getUUIDString())).toBe(false);
      expect(await names(conn)).toEqual(['ignoring']);

      expect(await startDomain(ignoring)).toBe(true);
      expect(await undefineDomain(conn, ignoring.getUUIDString())).toBe(true);
      expect(await ignoring.isActive()).toBe(true);
      expect(await ignoring.isPersistent()).toBe(false);
      expect(await undefineDomain(conn, ignoring.getUUIDString())).toBe(false);
      expect(await destroyDomain(ignoring)).toBe(true);
      expect(await names(conn)).toEqual([]);
      expect(await destroyDomain(ignoring)).toBe(false);
      expect(await shutdownDomain(ignoring, { timeoutMs: 1_000 })).toBe('already-off');
    });
  });

  describe('live migration', () => {
    let source: Connection;
    let monitor: Connection;
    let destination: Connection;

    beforeAll(async () => {
      const [host1, host2] = lab.state.hosts;
      source = await openConnection(host1.libvirtUri);
      monitor = await openConnection(host1.libvirtUri);
      destination = await openConnection(host2.libvirtUri);
    });

    afterAll(async () => {
      await Promise.all([source, monitor, destination].map((conn) => conn?.close()));
    });

    /** A memory-dirtying guest on host1, its directory ready on host2, and both its handles. */
    async function guestToMigrate(name: string, dirtyMb: number) {
      const [, host2] = lab.state.hosts;
      const guest = await timed(`boot ${name} to first counter`, async () => {
        const booted = await bootGuest({
          stateDir: lab.state.stateDir,
          name,
          host: 'host1',
          dirtyMb,
        });
        await waitForCounter(booted.serialLog, 0);
        return booted;
      });
      await mkdir(guestDirOnHost(host2, name), { recursive: true });
      const domain = await source.lookupByUUIDString(guest.uuid);
      const watched = await monitor.lookupByUUIDString(guest.uuid);
      return { host2, guest, domain, watched };
    }

    it('moves a running guest to host2, watched and sped up from a second connection', async () => {
      const { host2, guest, domain, watched } = await guestToMigrate('travelling', 16);
      const before = (await readCounter(guest.serialLog)) as number;
      const started = Date.now();
      const migration = domain.migrateToURI3(
        host2.libvirtUriInLab,
        { bandwidthMiBs: SLOW_MIB_PER_S },
        LIVE_MIGRATION,
      );
      const running = await runningJob(watched, migration);
      note(`job moving data after ${Date.now() - started} ms`);
      expect(running.dataTotal).toBeGreaterThan(0);
      expect(running.dataRemaining).toBeGreaterThan(0);
      expect(await watched.migrateGetMaxSpeed()).toBe(SLOW_MIB_PER_S);

      await watched.migrateSetMaxSpeed(10_000);
      await migration;
      note(`migration wall clock ${Date.now() - started} ms`);

      // The source forgot the domain (UNDEFINE_SOURCE): the destination has the completed job's
      // stats, kept with KEEP_COMPLETED, dropped by the first read without it.
      const gone = await rejection(domain.getJobStats(JOB_STATS.COMPLETED));
      expect(gone.code).toBe(VIR_ERR.NO_DOMAIN);
      expect(await names(source)).not.toContain('travelling');
      const arrived = await destination.lookupByUUIDString(guest.uuid);
      const keep = JOB_STATS.COMPLETED | JOB_STATS.KEEP_COMPLETED;
      const completed = await arrived.getJobStats(keep);
      note(
        `completed stats: elapsed ${completed.timeElapsedMs} ms, ` +
          `downtime ${completed.downtimeMs} ms, ${completed.memIteration} passes`,
      );
      expect(completed.type).toBe(JOB_TYPE.COMPLETED);
      expect(completed.dataTotal).toBe(running.dataTotal);
      expect(completed.dataRemaining).toBe(0);
      expect(completed.dataProcessed).toBeGreaterThan(running.dataProcessed as number);
      expect(completed.timeElapsedMs).toBeGreaterThan(running.timeElapsedMs as number);
      expect(completed.downtimeMs).toBeGreaterThan(0);
      expect((await arrived.getJobStats(keep)).type).toBe(JOB_TYPE.COMPLETED);
      expect((await arrived.getJobStats(JOB_STATS.COMPLETED)).type).toBe(JOB_TYPE.COMPLETED);
      expect((await arrived.getJobStats(JOB_STATS.COMPLETED)).type).toBe(JOB_TYPE.NONE);

      expect((await arrived.getState()).state).toBe(DOMAIN_STATE.RUNNING);
      expect(await arrived.isPersistent()).toBe(true);
      const onHost2 = consoleLog(host2, 'travelling');
      const first = await waitForCounter(onHost2, before);
      await waitForCounter(onHost2, first);

      expect(await destroyDomain(arrived)).toBe(true);
      expect(await undefineDomain(destination, guest.uuid)).toBe(true);
    });

    it('aborts a migration that cannot converge, the guest running on as before', async () => {
      const { host2, guest, domain, watched } = await guestToMigrate('staying', 48);
      const migration = domain.migrateToURI3(
        host2.libvirtUriInLab,
        { bandwidthMiBs: SLOW_MIB_PER_S },
        LIVE_MIGRATION,
      );
      await runningJob(watched, migration);
      const aborting = Date.now();
      await watched.abortJob();
      const abortReturned = Date.now() - aborting;
      const error = await rejection(migration);
      note(
        `abortJob returned in ${abortReturned} ms, migration rejected at ${Date.now() - aborting} ms ` +
          `(code ${error.code}, domain ${error.domain}: ${error.message})`,
      );
      expect(error.code).toBe(VIR_ERR.OPERATION_ABORTED);
      expect((await watched.getJobStats()).type).toBe(JOB_TYPE.NONE);

      expect((await watched.getState()).state).toBe(DOMAIN_STATE.RUNNING);
      expect(await watched.isPersistent()).toBe(true);
      const atAbort = (await readCounter(guest.serialLog)) as number;
      await waitForCounter(guest.serialLog, atAbort);
      expect(await names(destination)).not.toContain('staying');
      expect((await rejection(destination.lookupByUUIDString(guest.uuid))).code).toBe(
        VIR_ERR.NO_DOMAIN,
      );

      expect(await destroyDomain(watched)).toBe(true);
      expect(await undefineDomain(source, guest.uuid)).toBe(true);
    });
  });
});
