/**
 * live_migration_permit_auto_converge on the lab: a guest that rewrites its memory faster than the
 * link carries it converges only because QEMU throttles its CPU. The agents run with the option
 * on; the test checks what libvirt made of it on the source (QEMU's auto-converge capability set,
 * the job's throttle rising) and that the guest, once moved, keeps counting on the destination.
 */
import { run } from '../../lab/command';
import { bootLabInstance } from '../../lab/fleet';
import { MIGRATE } from '../../virt/libvirt/binding';
import { ferry } from '../support/ferry-cli';
import { canRunLab } from '../support/lab';
import { until, useLabStack } from '../support/lab-stack';

const describeLab = canRunLab ? describe : describe.skip;

/** At 16 MiB/s a guest rewriting 48 MiB of memory does not converge unless it is throttled. */
const AGENT_ENV = {
  FERRY_LIVE_MIGRATION_BANDWIDTH: '16',
  FERRY_LIVE_MIGRATION_PERMIT_AUTO_CONVERGE: 'true',
};

describeLab('live migration with auto-converge permitted, on the lab', () => {
  const stack = useLabStack({ name: 'auto-converge', agentEnv: AGENT_ENV });

  it('libvirt throttles the busy guest until it converges; it keeps counting on host2', async () => {
    await bootLabInstance(stack.config, {
      name: 'busy',
      host: 'host1',
      dirtyMb: 48,
      memoryMb: 160,
    });
    const before = await stack.counting('host1', 'busy');
    const started = await ferry(['live-migrate', 'busy', '--host', 'host2', '--json'], stack.env);
    expect({ code: started.code, stderr: started.stderr }).toEqual({ code: 0, stderr: '' });
    const { migrationUuid } = JSON.parse(started.stdout) as { migrationUuid: string };
    const status = async () =>
      (await stack.db.migration.findUniqueOrThrow({ where: { uuid: migrationUuid } })).status;
    await until('the migration running', 60_000, async () =>
      (await status()) === 'running' ? true : undefined,
    );

    // The flags ferry handed libvirt, as the agent logged them when it started the job.
    const logged = await until('the agent starting the job', 30_000, async () => {
      const line = (await stack.agentLog('host1'))
        .split('\n')
        .find((l) => l.includes('starting the live migration'));
      const flags = line && /flags\W+(\d+)/.exec(line)?.[1];
      return flags ? Number(flags) : undefined;
    });
    expect(logged & MIGRATE.AUTO_CONVERGE).toBe(MIGRATE.AUTO_CONVERGE);

    // What libvirt made of it: the source QEMU's auto-converge capability on once libvirtd began
    // the job, and the guest's CPU throttled once it dirtied memory faster than it went.
    const capability = await until('the auto-converge capability on', 30_000, async () => {
      const capabilities = await stack.virsh('host1', [
        'qemu-monitor-command',
        'busy',
        '--hmp',
        'info migrate_capabilities',
      ]);
      return /^auto-converge: on\s*$/m.test(capabilities) ? 'on' : undefined;
    });
    expect(capability).toBe('on');
    const throttle = await until('the auto-converge throttle', 120_000, async () => {
      const info = await stack.virsh('host1', ['domjobinfo', 'busy']);
      const percent = Number(/Auto converge throttle:\s*(\d+)/.exec(info)?.[1] ?? 0);
      return percent > 0 ? percent : undefined;
    });
    expect(throttle).toBeGreaterThan(0);

    const ended = await until('the migration ended', 240_000, async () => {
      const now = await status();
      return ['completed', 'failed', 'cancelled', 'error'].includes(now) ? now : undefined;
    });
    expect(ended).toBe('completed');
    expect(await stack.domainsOn('host1')).not.toContain('busy');
    expect(await stack.instance('busy')).toMatchObject({ hostName: 'host2', taskState: null });
    expect(await stack.counting('host2', 'busy')).toBeGreaterThan(before);
    await run('virsh', ['-c', stack.host('host2').libvirtUri, 'destroy', 'busy']);
  });
});
