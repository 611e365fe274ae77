/**
 * Host drain end to end on the lab (docs/drain.md): real libvirt daemons and QEMU guests in three
 * hosts, the real control worker and host agents, driven through the `ferry` CLI, checked in
 * libvirt, in the guests' serial consoles, in the hosts' instances dirs and in the database.
 */
import { readdir } from 'node:fs/promises';
import { bootLabInstance } from '../../lab/fleet';
import { rootNamespacePath } from '../../lab/layout';
import { ferry } from '../support/ferry-cli';
import { canRunLab } from '../support/lab';
import { until, useLabStack } from '../support/lab-stack';

const describeLab = canRunLab ? describe : describe.skip;

/** Agents migrate at 16 MiB/s: a guest rewriting 48 MiB of memory then never converges. */
const AGENT_ENV = { FERRY_LIVE_MIGRATION_BANDWIDTH: '16' };
/**
 * Four live migrations out of one host at once, so that what bounds a drain's moves is the
 * drain's concurrency and the fleet-wide cap, not Nova's default of one per source host.
 */
const CONTROL_ENV = { FERRY_MAX_CONCURRENT_LIVE_MIGRATIONS: '4' };
const HOSTS = ['host1', 'host2', 'host3'];
const DRAIN_TIMEOUT_MS = 600_000;

/** A drain's item as `--json` shows it. */
interface Item {
  instanceName: string;
  state: string;
  reason: string | null;
  attempts: number;
  destHost: string | null;
}

/** What the drain tests run and check the lab with. */
function drainTools(stack: ReturnType<typeof useLabStack>) {
  const { virsh } = stack;
  const cli = async (args: string[]) => {
    const result = await ferry(args, stack.env);
    expect({ args, code: result.code, stderr: result.stderr }).toEqual({
      args,
      code: 0,
      stderr: '',
    });
    return result.stdout;
  };
  const json = async (args: string[]) => JSON.parse(await cli([...args, '--json']));

  /** The guest shut off in libvirt and recorded so, as after a shutdown inside the guest. */
  async function stopGuest(host: string, name: string): Promise<void> {
    await virsh(host, ['destroy', name]);
    await stack.db.instance.update({ where: { name }, data: { powerState: 'shutdown' } });
  }

  /** libvirt's active domains and their state, and the database's instances, per host. */
  async function fleetPicture() {
    const libvirt = await Promise.all(
      HOSTS.map(async (host) => [host, await virsh(host, ['list', '--all'])]),
    );
    const rows = await stack.db.instance.findMany({ orderBy: { name: 'asc' } });
    const hosts = await stack.db.host.findMany({ orderBy: { name: 'asc' } });
    return {
      libvirt,
      instances: rows.map((r) => [r.name, r.hostName, r.vmState, r.powerState, r.taskState]),
      hosts: hosts.map((h) => [h.name, h.state, h.disabledReason]),
      migrations: await stack.db.migration.count(),
      claims: await stack.db.resourceClaim.count(),
    };
  }

  /** Nothing of the guest in the host's instances dir. */
  async function leftIn(host: string, name: string): Promise<string[]> {
    const dir = rootNamespacePath(stack.host(host).rootPath, stack.host(host).instancesDir);
    return (await readdir(dir).catch(() => [])).filter((entry) => entry.includes(name));
  }

  /** Live migration jobs running in libvirt now, over every host: "host/guest" each. */
  async function outgoingJobs(): Promise<string[]> {
    const jobs = await Promise.all(
      HOSTS.map(async (host) => {
        const names = (await virsh(host, ['list', '--name'])).split('\n').map((l) => l.trim());
        const perGuest = await Promise.all(
          names.filter(Boolean).map(async (name) => {
            const info = await virsh(host, ['domjobinfo', name]).catch(() => '');
            return /Operation:\s+Outgoing migration/.test(info) ? `${host}/${name}` : undefined;
          }),
        );
        return perGuest.filter((job): job is string => job !== undefined);
      }),
    );
    return jobs.flat();
  }

  return { json, stopGuest, fleetPicture, leftIn, outgoingJobs };
}

describeLab('host drain on the lab', () => {
  const stack = useLabStack({ name: 'drain', agentEnv: AGENT_ENV, env: CONTROL_ENV });
  const { domainsOn, diskOn, instance, counting, diskDigest, virsh } = stack;
  const { json, stopGuest, fleetPicture, leftIn, outgoingJobs } = drainTools(stack);

  it(
    'plans without changing anything, moves three live and one cold, leaves the locked one, and brings them back',
    async () => {
      await bootLabInstance(stack.config, { name: 'alpha', host: 'host1' });
      await bootLabInstance(stack.config, {
        name: 'beta',
        host: 'host1',
        diskMb: 64,
        diskDataMb: 16,
      });
      await bootLabInstance(stack.config, { name: 'gamma', host: 'host1' });
      await bootLabInstance(stack.config, {
        name: 'delta',
        host: 'host1',
        diskMb: 32,
        diskDataMb: 8,
      });
      await bootLabInstance(stack.config, { name: 'kept', host: 'host1' });
      for (const name of ['alpha', 'beta', 'gamma', 'delta', 'kept']) {
        await counting('host1', name);
      }
      await stopGuest('host1', 'delta');
      await stack.db.instance.update({ where: { name: 'kept' }, data: { locked: true } });
      const betaDigest = await diskDigest(diskOn('host1', 'beta'));
      const deltaDigest = await diskDigest(diskOn('host1', 'delta'));

      const before = await fleetPicture();
      const plan = (await json(['hosts', 'drain', 'host1', '--dry-run'])) as (Item & {
        action: string;
      })[];
      expect(Object.fromEntries(plan.map((item) => [item.instanceName, item.action]))).toEqual({
        alpha: 'live',
        beta: 'live',
        gamma: 'live',
        delta: 'cold',
        kept: 'none',
      });
      for (const item of plan.filter((i) => i.action !== 'none')) {
        expect(['host2', 'host3']).toContain(item.destHost);
      }
      expect(plan.find((item) => item.instanceName === 'kept')?.reason).toMatch(/locked/);
      expect(await fleetPicture()).toEqual(before);
      expect(await stack.db.drain.count()).toBe(0);

      const drained = await json(['hosts', 'drain', 'host1', '--wait']);
      expect(drained.status).toBe('incomplete');
      const items = Object.fromEntries(
        (drained.items as Item[]).map((item) => [item.instanceName, item]),
      );
      for (const name of ['alpha', 'beta', 'gamma', 'delta']) {
        expect(items[name]).toMatchObject({ state: 'moved', attempts: 1 });
      }
      expect(items.kept).toMatchObject({ state: 'left', reason: expect.stringMatching(/locked/) });

      for (const name of ['alpha', 'beta', 'gamma']) {
        const row = await instance(name);
        expect(row).toMatchObject({ taskState: null, vmState: 'active', powerState: 'running' });
        expect(row.hostName).toBe(items[name].destHost);
        await counting(row.hostName, name);
        expect(row.migrations).toEqual([
          expect.objectContaining({ migrationType: 'live-migration', status: 'completed' }),
        ]);
      }
      const delta = await instance('delta');
      expect(delta.hostName).toBe(items.delta.destHost);
      expect(delta.migrations).toEqual([
        expect.objectContaining({ migrationType: 'migration', status: 'confirmed' }),
      ]);
      expect(await virsh(delta.hostName, ['domstate', 'delta'])).toMatch(/shut off/);
      expect(await diskDigest(diskOn(delta.hostName, 'delta'))).toBe(deltaDigest);
      expect(await diskDigest(diskOn((await instance('beta')).hostName, 'beta'))).toBe(betaDigest);

      expect((await domainsOn('host1')).sort()).toEqual(['kept']);
      for (const name of ['alpha', 'beta', 'gamma', 'delta']) {
        expect(await leftIn('host1', name)).toEqual([]);
      }
      expect(await stack.db.host.findUniqueOrThrow({ where: { name: 'host1' } })).toMatchObject({
        state: 'disabled',
        disabledReason: 'draining',
      });
      expect(await stack.db.resourceClaim.count()).toBe(0);
      const shown = await json(['drains', 'show', 'host1']);
      expect(shown).toMatchObject({ status: 'incomplete', counts: { moved: 4, left: 1 } });

      const returned = await json(['hosts', 'undrain', 'host1', '--return', '--wait']);
      expect(returned.status).toBe('completed');
      expect((returned.items as Item[]).map((item) => item.instanceName).sort()).toEqual([
        'alpha',
        'beta',
        'delta',
        'gamma',
      ]);
      expect((await domainsOn('host1')).sort()).toEqual([
        'alpha',
        'beta',
        'delta',
        'gamma',
        'kept',
      ]);
      for (const host of ['host2', 'host3']) expect(await domainsOn(host)).toEqual([]);
      for (const name of ['alpha', 'beta', 'gamma']) {
        expect(await instance(name)).toMatchObject({ hostName: 'host1', taskState: null });
        await counting('host1', name);
      }
      expect(await instance('delta')).toMatchObject({ hostName: 'host1', powerState: 'shutdown' });
      expect(await diskDigest(diskOn('host1', 'delta'))).toBe(deltaDigest);
      expect(await diskDigest(diskOn('host1', 'beta'))).toBe(betaDigest);
      expect(await stack.db.host.findUniqueOrThrow({ where: { name: 'host1' } })).toMatchObject({
        state: 'up',
      });
      expect(await stack.db.resourceClaim.count()).toBe(0);

      // The next cases drain other hosts: these guests stop using the machine's two cores.
      for (const name of ['alpha', 'beta', 'gamma', 'kept']) await stopGuest('host1', name);
    },
    DRAIN_TIMEOUT_MS,
  );

  it(
    'aborts a drain while two moves run: both roll back and keep counting, the queued one never starts',
    async () => {
      for (const name of ['rho', 'sigma', 'tau']) {
        await bootLabInstance(stack.config, { name, host: 'host2', dirtyMb: 48, memoryMb: 160 });
        await counting('host2', name);
      }
      const started = await json(['hosts', 'drain', 'host2', '--concurrency', '2']);
      expect(started.status).toBe('running');
      // At 16 MiB/s none of these guests converges: two migrations run until aborted.
      const running = await until('two live migrations running in libvirt', 120_000, async () => {
        const jobs = await outgoingJobs();
        return jobs.length === 2 ? jobs : undefined;
      });
      expect(running.every((job) => job.startsWith('host2/'))).toBe(true);

      const aborted = await json(['hosts', 'drain', 'host2', '--abort']);
      expect(aborted.host).toBe('host2');
      const ended = await until('the drain aborted', 180_000, async () => {
        const shown = await json(['drains', 'show', 'host2']);
        return shown.status === 'aborted' ? shown : undefined;
      });
      const moving = running.map((job) => job.split('/')[1]);
      const queued = ['rho', 'sigma', 'tau'].find((name) => !moving.includes(name)) as string;
      for (const item of ended.items as Item[]) {
        expect(item).toMatchObject({ state: 'left' });
      }
      const byName = Object.fromEntries((ended.items as Item[]).map((i) => [i.instanceName, i]));
      expect(byName[queued]).toMatchObject({
        attempts: 0,
        reason: 'drain aborted before its move started',
      });
      expect((await instance(queued)).migrations).toEqual([]);
      for (const name of moving) {
        expect(byName[name].reason).toMatch(/^drain aborted, rolled back/);
        const row = await instance(name);
        expect(row).toMatchObject({ hostName: 'host2', taskState: null });
        expect(row.migrations).toEqual([expect.objectContaining({ status: 'cancelled' })]);
      }
      for (const name of ['rho', 'sigma', 'tau']) await counting('host2', name);
      for (const host of ['host1', 'host3']) {
        for (const name of ['rho', 'sigma', 'tau']) {
          expect(await domainsOn(host)).not.toContain(name);
          expect(await leftIn(host, name)).toEqual([]);
        }
      }
      expect(await outgoingJobs()).toEqual([]);
      expect(await stack.db.host.findUniqueOrThrow({ where: { name: 'host2' } })).toMatchObject({
        state: 'disabled',
        disabledReason: 'draining',
      });
      expect(await stack.db.resourceClaim.count()).toBe(0);

      // Enabled again without a return: the aborted drain's instances stay where they are.
      expect(await json(['hosts', 'undrain', 'host2'])).toMatchObject({ enabled: true });
      expect(await stack.db.host.findUniqueOrThrow({ where: { name: 'host2' } })).toMatchObject({
        state: 'up',
      });
      for (const name of ['rho', 'sigma', 'tau']) {
        expect(await instance(name)).toMatchObject({ hostName: 'host2' });
      }
    },
    DRAIN_TIMEOUT_MS,
  );
});

// A lab of its own: the guests of the cases above would hold the room these moves need.
describeLab('the fleet-wide migration cap on the lab', () => {
  const stack = useLabStack({
    name: 'drain-cap',
    agentEnv: AGENT_ENV,
    env: { ...CONTROL_ENV, FERRY_MAX_CONCURRENT_MIGRATIONS: '2' },
  });
  const { instance, counting } = stack;
  const { json, outgoingJobs } = drainTools(stack);

  it(
    'never runs more migrations at once than max_concurrent_migrations, drain and single requests together',
    async () => {
      const drainedGuests = ['m1', 'm2', 'm3', 'm4'];
      const singles = ['s1', 's2'];
      for (const name of drainedGuests) {
        await bootLabInstance(stack.config, { name, host: 'host3' });
      }
      for (const name of singles) await bootLabInstance(stack.config, { name, host: 'host2' });
      for (const name of drainedGuests) await counting('host3', name);
      for (const name of singles) await counting('host2', name);

      let sampling = true;
      let most: string[] = [];
      const sampler = (async () => {
        while (sampling) {
          const jobs = await outgoingJobs();
          if (jobs.length > most.length) most = jobs;
        }
      })();
      try {
        await json(['hosts', 'drain', 'host3', '--concurrency', '4']);
        for (const name of singles) await json(['live-migrate', name, '--host', 'host1']);
        const ended = await until('the drain ended', DRAIN_TIMEOUT_MS - 120_000, async () => {
          const shown = await json(['drains', 'show', 'host3']);
          return shown.status === 'running' ? undefined : shown;
        });
        expect(ended).toMatchObject({ status: 'completed', counts: { moved: 4 } });
        for (const name of singles) {
          const single = await until(`${name}'s migration ended`, 180_000, async () => {
            const migration = (await instance(name)).migrations[0];
            const over = ['completed', 'failed', 'error', 'cancelled'];
            return migration && over.includes(migration.status) ? migration : undefined;
          });
          expect({ name, status: single.status, error: single.error }).toEqual({
            name,
            status: 'completed',
            error: null,
          });
        }
      } finally {
        sampling = false;
        await sampler;
      }
      // Six migrations wanted to run at once; libvirt never ran more than two, and did run two.
      expect(most).toHaveLength(2);
      for (const name of drainedGuests) {
        const row = await instance(name);
        expect(row.hostName).not.toBe('host3');
        await counting(row.hostName, name);
      }
      for (const name of singles) {
        expect(await instance(name)).toMatchObject({ hostName: 'host1' });
        await counting('host1', name);
      }
      const queued = await stack.db.migration.count({ where: { status: 'queued' } });
      expect(queued).toBe(0);
      expect(await stack.db.resourceClaim.count()).toBe(0);
    },
    DRAIN_TIMEOUT_MS,
  );
});
