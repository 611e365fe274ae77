/**
 * Live migration end to end on the lab: real libvirt daemons and QEMU guests in three hosts, the
 * real control worker and host agents, driven through the `ferry` CLI, checked in libvirt, in the
 * guests' serial consoles and in the database.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from '../../lab/command';
import { createApiServer, listen } from '../../api/server';
import { createLogger } from '../../config/logging';
import { bootLabInstance, labStateDir } from '../../lab/fleet';
import { ferry } from '../support/ferry-cli';
import { canRunLab } from '../support/lab';
import { until, useLabStack } from '../support/lab-stack';

const describeLab = canRunLab ? describe : describe.skip;

/** Agents migrate at 16 MiB/s: a guest rewriting 48 MiB of memory then never converges. */
const AGENT_ENV = { FERRY_LIVE_MIGRATION_BANDWIDTH: '16' };

describeLab('live migration on the lab', () => {
  const stack = useLabStack({ name: 'live', agentEnv: AGENT_ENV });
  const { host, domainsOn, diskOn, instance, counting, diskDigest, recordHistory } = stack;
  const liveMigrate = async (args: string[]) => {
    const result = await ferry(['live-migrate', ...args, '--wait', '--json'], stack.env);
    return { ...result, state: result.code === 0 ? JSON.parse(result.stdout) : undefined };
  };

  it('moves a running guest to the named host, where it keeps counting', async () => {
    await bootLabInstance(stack.config, { name: 'alpha', host: 'host1' });
    const before = await counting('host1', 'alpha');

    const { code, stderr, state } = await liveMigrate(['alpha', '--host', 'host2']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(state).toMatchObject({ status: 'completed', sourceHost: 'host1', destHost: 'host2' });

    expect(await domainsOn('host2')).toContain('alpha');
    expect(await domainsOn('host1')).not.toContain('alpha');
    expect(await counting('host2', 'alpha')).toBeGreaterThan(before);
    const row = await instance('alpha');
    expect(row).toMatchObject({ hostName: 'host2', taskState: null, vmState: 'active' });
    expect(row.migrations).toEqual([
      expect.objectContaining({
        status: 'completed',
        destHost: 'host2',
        migrationType: 'live-migration',
      }),
    ]);
    expect(Number(row.migrations[0].memoryTotalBytes)).toBeGreaterThan(0);
    expect(await stack.db.resourceClaim.count()).toBe(0);
    const events = await stack.db.instanceActionEvent.findMany({
      where: { action: { instanceUuid: row.uuid } },
    });
    expect(events.map((e) => e.event)).toContain('compute_live_migration');
    expect(events.every((e) => e.result === 'Success')).toBe(true);
    await recordHistory('alpha', 'live-migration-completed');
  });

  it('without --host, skips a destination whose pre-check fails and uses the next', async () => {
    // host1 gets a (shut off) domain named alpha: its pre-check must refuse.
    const stub = join(stack.dataDir, 'stub.xml');
    await writeFile(
      stub,
      "<domain type='qemu'><name>alpha</name><memory unit='MiB'>32</memory><os><type arch='x86_64'>hvm</type></os></domain>",
    );
    await run('virsh', ['-c', host('host1').libvirtUri, 'define', stub]);
    try {
      const { code, stderr, state } = await liveMigrate(['alpha']);
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      expect(state.destHost).toBe('host3');
      expect(state.refusedHosts).toEqual([
        { host: 'host1', reason: expect.stringMatching(/alpha/) },
      ]);
      expect(await domainsOn('host3')).toContain('alpha');
      expect((await instance('alpha')).hostName).toBe('host3');
      await counting('host3', 'alpha');
    } finally {
      await run('virsh', ['-c', host('host1').libvirtUri, 'undefine', 'alpha']);
    }
  });

  it('block-migrates a guest with a local disk: the copy is identical, the source cleaned', async () => {
    await bootLabInstance(stack.config, {
      name: 'beta',
      host: 'host1',
      diskMb: 64,
      diskDataMb: 16,
    });
    await counting('host1', 'beta');
    const digest = await diskDigest(diskOn('host1', 'beta'));

    const { code, stderr, state } = await liveMigrate(['beta', '--host', 'host2']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(state).toMatchObject({ status: 'completed', blockMigration: true });

    await counting('host2', 'beta');
    expect(await diskDigest(diskOn('host2', 'beta'))).toBe(digest);
    await expect(readFile(diskOn('host1', 'beta'))).rejects.toThrow(/ENOENT/);
    // Its console log and directory too: nothing of beta is left in host1's instances dir.
    await expect(readdir(dirname(diskOn('host1', 'beta')))).rejects.toThrow(/ENOENT/);
    expect(await domainsOn('host1')).not.toContain('beta');
    await recordHistory('beta', 'live-migration-block');
  });

  it('refuses to leave a local disk behind (block migration false: InvalidLocalStorage)', async () => {
    const { code, stdout, stderr } = await liveMigrate([
      'beta',
      '--host',
      'host3',
      '--block-migration',
      'false',
    ]);
    expect(code).not.toBe(0);
    expect(`${stdout}${stderr}`).toMatch(/cannot see: use block migration/);
    expect(await domainsOn('host3')).not.toContain('beta');
    expect(await instance('beta')).toMatchObject({ hostName: 'host2', taskState: null });
    await counting('host2', 'beta');
  });

  it('aborts a throttled migration of a memory-dirtying guest: it stays on the source', async () => {
    await bootLabInstance(stack.config, {
      name: 'gamma',
      host: 'host1',
      dirtyMb: 48,
      memoryMb: 160,
    });
    await counting('host1', 'gamma');
    const started = await ferry(['live-migrate', 'gamma', '--host', 'host2', '--json'], stack.env);
    expect(started.code).toBe(0);
    const { migrationUuid } = JSON.parse(started.stdout);
    const migration = () =>
      stack.db.migration.findUniqueOrThrow({ where: { uuid: migrationUuid } });
    await until('the migration running', 60_000, async () =>
      (await migration()).status === 'running' ? true : undefined,
    );
    await sleep(3000);

    const aborted = await ferry(['abort', 'gamma'], stack.env);
    expect(aborted).toMatchObject({ code: 0 });
    await until('the migration cancelled', 60_000, async () =>
      (await migration()).status === 'cancelled' ? true : undefined,
    );

    expect(await domainsOn('host1')).toContain('gamma');
    expect(await domainsOn('host2')).not.toContain('gamma');
    expect(await instance('gamma')).toMatchObject({ hostName: 'host1', taskState: null });
    expect(await stack.db.resourceClaim.count()).toBe(0);
    await counting('host1', 'gamma');
    await recordHistory('gamma', 'live-migration-aborted');
    await run('virsh', ['-c', host('host1').libvirtUri, 'destroy', 'gamma']);
  });

  it('survives kill -9 of the source agent mid-migration: the restarted agent attaches, never migrates twice', async () => {
    await bootLabInstance(stack.config, {
      name: 'delta',
      host: 'host1',
      dirtyMb: 48,
      memoryMb: 160,
    });
    await counting('host1', 'delta');
    const started = await ferry(['live-migrate', 'delta', '--host', 'host3', '--json'], stack.env);
    expect(started.code).toBe(0);
    const { migrationUuid } = JSON.parse(started.stdout);
    const migration = () =>
      stack.db.migration.findUniqueOrThrow({ where: { uuid: migrationUuid } });
    await until('the migration running', 60_000, async () =>
      (await migration()).status === 'running' ? true : undefined,
    );
    await sleep(2000);

    await stack.restartAgentAfterKill('host1');
    // The retried migrate activity (after its heartbeat timeout) finds libvirt's job and attaches;
    // forcing completion then lets the never-converging guest finish.
    await until('the restarted agent attached', 90_000, async () =>
      (await stack.agentLog('host1')).includes('attach') ? true : undefined,
    );
    expect((await ferry(['force-complete', 'delta'], stack.env)).code).toBe(0);
    await until('the migration completed', 90_000, async () =>
      (await migration()).status === 'completed' ? true : undefined,
    );

    const everywhere = await Promise.all(['host1', 'host2', 'host3'].map(domainsOn));
    expect(everywhere.flat().filter((name) => name === 'delta')).toHaveLength(1);
    expect(await domainsOn('host3')).toContain('delta');
    expect(await instance('delta')).toMatchObject({ hostName: 'host3', taskState: null });
    await counting('host3', 'delta');
    await recordHistory('delta', 'live-migration-agent-killed');
  });

  it("shows a running migration's progress through the API while the agents hold no database", async () => {
    const agents = JSON.parse(
      await readFile(join(labStateDir(stack.config), 'agents.json'), 'utf8'),
    ) as Record<string, number>;
    for (const pid of Object.values(agents)) {
      expect((await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0')).toContain('agent');
      const environ = (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0');
      const names = environ.map((entry) => entry.slice(0, entry.indexOf('=')));
      expect(names).not.toContain('FERRY_DATABASE_URL');
      expect(names).not.toContain('DATABASE_URL');
      expect(names).toContain('FERRY_LIBVIRT_URI');
    }

    // At 16 MiB/s a guest rewriting 48 MiB never converges: it runs until forced to complete.
    await bootLabInstance(stack.config, {
      name: 'epsilon',
      host: 'host1',
      dirtyMb: 48,
      memoryMb: 160,
    });
    await counting('host1', 'epsilon');
    const server = createApiServer(
      stack.config,
      stack.db,
      stack.temporal,
      createLogger({ ...stack.config, logLevel: 'error' }, 'api'),
    );
    const port = await listen(server, '127.0.0.1', 0);
    try {
      const started = await ferry(
        ['live-migrate', 'epsilon', '--host', 'host2', '--json'],
        stack.env,
      );
      expect(started.code).toBe(0);
      const { migrationId, instanceUuid } = JSON.parse(started.stdout);
      const url = `http://127.0.0.1:${port}/v2.1/servers/${instanceUuid}/migrations/${migrationId}`;
      const shown = async () => {
        const response = await fetch(url, { headers: { 'OpenStack-API-Version': 'compute 2.80' } });
        return response.status === 200
          ? ((await response.json()) as { migration: Record<string, unknown> }).migration
          : undefined;
      };
      const seen = new Set<number>();
      await until('the API showing three progress values', 120_000, async () => {
        const migration = await shown();
        if (migration?.status === 'running') seen.add(migration.memory_processed_bytes as number);
        return seen.size >= 3 ? true : undefined;
      });
      expect(Math.max(...seen)).toBeGreaterThan(0);

      expect((await ferry(['force-complete', 'epsilon'], stack.env)).code).toBe(0);
      await until('the migration completed', 90_000, async () =>
        (await stack.db.migration.findFirst({ where: { id: migrationId } }))?.status === 'completed'
          ? true
          : undefined,
      );
      expect(await instance('epsilon')).toMatchObject({ hostName: 'host2', taskState: null });
      await counting('host2', 'epsilon');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
