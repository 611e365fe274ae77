/**
 * Evacuation end to end on a two-host lab with shared storage: real libvirt daemons and QEMU
 * guests, the real control worker and agents, driven through the `ferry` CLI. A guest on host1
 * counts into its disk; the evacuation is refused while host1 might still run it, fails on QEMU's
 * image lock when the operator forces host1 down while it does, and once every process of host1
 * is dead, the guest runs on host2 from the same disk and counts on from what it wrote. host1,
 * back, destroys its stale definition and stays disabled (docs/evacuate.md).
 */
import { readFile, rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from '../../lab/command';
import { bootLabInstance, killLabHost, restartLabHost } from '../../lab/fleet';
import { hostLiveness } from '../../db/host-liveness';
import { ferry } from '../support/ferry-cli';
import { canRunLab } from '../support/lab';
import { until, useLabStack } from '../support/lab-stack';

const describeLab = canRunLab ? describe : describe.skip;

const SERVICE_DOWN_TIME_S = 6;

describeLab('evacuation on a shared-storage lab', () => {
  const stack = useLabStack({
    name: 'evacuate',
    hosts: 2,
    sharedStorage: true,
    env: { FERRY_SERVICE_DOWN_TIME: String(SERVICE_DOWN_TIME_S), FERRY_REPORT_INTERVAL: '1' },
  });
  const { instance, counting, diskOn, diskDigest } = stack;

  const evacuate = (args: string[]) =>
    ferry(['evacuate', 'omega', ...args, '--wait', '--json'], stack.env);
  const migrations = () =>
    stack.db.migration.findMany({ where: { migrationType: 'evacuation' }, orderBy: { id: 'asc' } });
  const running = async (hostName: string) =>
    (await stack.virsh(hostName, ['list', '--state-running', '--name']))
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean);
  /** The QEMU processes of a guest in a host's namespaces. */
  const qemusOf = async (hostName: string, guest: string) => {
    const pids = (await run('ip', ['netns', 'pids', stack.host(hostName).netns]))
      .split('\n')
      .filter(Boolean);
    const lines = await Promise.all(
      pids.map((pid) => readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')),
    );
    return lines.filter((line) => line.includes('qemu') && line.includes(`guest=${guest},`)).length;
  };
  const hostRow = (name: string) => stack.db.host.findUniqueOrThrow({ where: { name } });
  const host1Down = () =>
    until('host1 down', 60_000, async () =>
      hostLiveness(await hostRow('host1'), new Date(), SERVICE_DOWN_TIME_S) === 'down'
        ? true
        : undefined,
    );
  /** The counter line the guest last wrote to sector 0 of its disk. */
  const counterOnDisk = async (): Promise<number> => {
    const raw = `${stack.dataDir}/omega-sector0.raw`;
    await run('qemu-img', [
      'dd',
      '-U',
      '-f',
      'qcow2',
      '-O',
      'raw',
      'bs=512',
      'count=1',
      `if=${diskOn('host1', 'omega')}`,
      `of=${raw}`,
    ]);
    const sector = await readFile(raw, 'utf8');
    await rm(raw);
    const match = /ferry-guest omega counter (\d+)/.exec(sector);
    if (!match) throw new Error(`no counter in sector 0: ${JSON.stringify(sector.slice(0, 60))}`);
    return Number(match[1]);
  };

  beforeAll(async () => {
    await bootLabInstance(stack.config, {
      name: 'omega',
      host: 'host1',
      diskMb: 32,
      diskDataMb: 8,
    });
    await counting('host1', 'omega');
    await bootLabInstance(stack.config, { name: 'kappa', host: 'host1', diskMb: 16 });
    await counting('host1', 'kappa');
  });

  it('is refused while host1 might run the guest: up; agent dead but libvirt answering; forced down while QEMU runs, the start fails on the image lock', async () => {
    const up = await evacuate([]);
    expect(up.code).toBe(1);
    expect(up.stderr).toMatch(
      /host host1 of instance omega is up: only an instance of a host that is down/,
    );
    expect(await migrations()).toEqual([]);

    await stack.killAgent('host1');
    await host1Down();
    const answering = await evacuate([]);
    expect(answering.code).toBe(1);
    expect(answering.stderr).toMatch(
      /libvirt at qemu\+tls:\/\/10\.77\.0\.11\/system still answers host2/,
    );
    expect((await migrations()).map((m) => m.status)).toEqual(['failed']);
    expect(await instance('omega')).toMatchObject({ hostName: 'host1', taskState: null });
    expect(await running('host2')).toEqual([]);
    await counting('host1', 'omega');

    expect(await ferry(['hosts', 'force-down', 'host1'], stack.env)).toMatchObject({ code: 0 });
    const locked = await evacuate(['--host', 'host2']);
    expect(locked.code).toBe(1);
    expect(locked.stderr).toMatch(/Failed to get "write" lock/);
    expect((await migrations()).map((m) => m.status)).toEqual(['failed', 'failed']);
    expect(await instance('omega')).toMatchObject({ hostName: 'host1', taskState: null });
    expect(await stack.domainsOn('host2')).toEqual([]);
    expect((await running('host1')).sort()).toEqual(['kappa', 'omega']);
    await counting('host1', 'omega');
    expect(await stack.db.resourceClaim.count()).toBe(0);
    expect(await ferry(['hosts', 'force-up', 'host1'], stack.env)).toMatchObject({ code: 0 });
  }, 300_000);

  it('once host1 is dead, runs the guest on host2 from the same disk; a control worker killed mid-evacuation finishes it once', async () => {
    const digest = await diskDigest(diskOn('host1', 'omega'));
    await killLabHost(stack.config, 'host1');
    const last = await counterOnDisk();
    await host1Down();

    const started = Date.now();
    const evacuated = await evacuate([]);
    expect({ code: evacuated.code, stderr: evacuated.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(evacuated.stdout)).toMatchObject({ outcome: 'done', destHost: 'host2' });
    const serialLog = diskOn('host2', 'omega').replace(/disk\.qcow2$/, 'console.log');
    const resumed = new RegExp(`ferry-guest omega counter ${last + 1}\\s`);
    await until('the guest counting on from its disk on host2', 120_000, async () =>
      resumed.test(await readFile(serialLog, 'utf8')) ? true : undefined,
    ).catch(async (error: Error) => {
      const tail = (await readFile(serialLog, 'utf8').catch(() => '')).slice(-600);
      throw new Error(`${error.message} (counter ${last} on disk); console:\n${tail}`);
    });
    process.stdout.write(
      `evacuate accepted → first counter line on host2: ${Date.now() - started} ms\n`,
    );
    await counting('host2', 'omega');
    expect(await running('host2')).toEqual(['omega']);
    expect(await diskDigest(diskOn('host2', 'omega'))).toBe(digest);
    expect(await instance('omega')).toMatchObject({ hostName: 'host2', taskState: null });
    const [evacuation] = (await migrations()).slice(-1);
    expect(evacuation).toMatchObject({ status: 'done', sourceHost: 'host1', destHost: 'host2' });
    expect(await hostRow('host1')).toMatchObject({ state: 'disabled' });

    // The control worker killed while kappa's evacuation is under way: it finishes once.
    await stack.pauseControlOutsideWrites();
    const accepted = await ferry(['evacuate', 'kappa', '--json'], stack.env);
    expect(accepted).toMatchObject({ code: 0 });
    const { migrationUuid } = JSON.parse(accepted.stdout) as { migrationUuid: string };
    const row = () => stack.db.migration.findUniqueOrThrow({ where: { uuid: migrationUuid } });
    for (;;) {
      const { status } = await row();
      if (status === 'pre-migrating') break;
      if (status !== 'accepted')
        throw new Error(`missed pre-migrating: kappa's evacuation is ${status}`);
      stack.resumeControl();
      await sleep(10);
      stack.pauseControl();
    }
    await stack.killControl();
    stack.startControl();
    await until('kappa evacuated', 120_000, async () =>
      (await row()).status === 'done' ? true : undefined,
    );
    await counting('host2', 'kappa');
    expect(await qemusOf('host2', 'kappa')).toBe(1);
    expect((await running('host2')).sort()).toEqual(['kappa', 'omega']);
    expect(await instance('kappa')).toMatchObject({ hostName: 'host2', taskState: null });
    expect(await stack.db.resourceClaim.count()).toBe(0);
  }, 300_000);

  it('host1, back, destroys the stale definitions of the evacuated guests and stays disabled', async () => {
    const digest = await diskDigest(diskOn('host2', 'omega'));
    await restartLabHost(stack.config, 'host1');
    await until('host1 cleaned up', 90_000, async () =>
      (await migrations()).every((m) => m.status !== 'done') ? true : undefined,
    );
    expect((await migrations()).slice(-2).map((m) => m.status)).toEqual(['completed', 'completed']);
    expect(await stack.domainsOn('host1')).toEqual([]);
    expect((await running('host2')).sort()).toEqual(['kappa', 'omega']);
    await counting('host2', 'omega');
    expect(await diskDigest(diskOn('host2', 'omega'))).toBe(digest);
    expect(await hostRow('host1')).toMatchObject({ state: 'disabled' });
  }, 300_000);
});
