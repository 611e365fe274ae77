/**
 * The real OpenStack client (`openstack`, Debian's python3-openstackclient) driving ferry's
 * Nova-compatible API on the lab: every migration operation, an evacuation last (it kills host1),
 * checked in libvirt and the database, and the instance actions it leaves (`server event list` /
 * `show`).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openDatabase, type Database } from '../../db/database';
import { agentLogFile } from '../../lab/agents';
import { run } from '../../lab/command';
import {
  bootLabInstance,
  bringUpLab,
  killLabHost,
  labStateDir,
  restartLabHost,
  takeDownLab,
} from '../../lab/fleet';
import type { LabHost, LabState } from '../../lab/state';
import { loadConfig, type FerryConfig } from '../../config';
import { projectRoot } from '../../config/project-root';
import { freePort } from '../support/free-port';
import { ferry } from '../support/ferry-cli';
import { canRunLab, claimMachine, releaseMachine } from '../support/lab';
import { guestCounting, until } from '../support/lab-stack';
import { controlWorkerArgs, controlWorkerEnv } from '../../worker/control-process';

const describeLab = canRunLab ? describe : describe.skip;
const ADMIN_TOKEN = 'ferry-e2e-admin-token-0123456789';

/** Agents migrate at 16 MiB/s: a guest rewriting 48 MiB of memory then never converges. */
const AGENT_ENV = { FERRY_LIVE_MIGRATION_BANDWIDTH: '16' };

describeLab('the openstack client against ferry on the lab', () => {
  let api: ChildProcess;
  let noAuthApi: ChildProcess;
  let apiPort: number;
  let noAuthPort: number;
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let config: FerryConfig;
  let lab: LabState;
  let db: Database;
  let control: ChildProcess;

  const host = (name: string): LabHost => lab.hosts.find((h) => h.name === name) as LabHost;
  const domainsOn = async (name: string) =>
    (await run('virsh', ['-c', host(name).libvirtUri, 'list', '--all', '--name']))
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean);
  const instance = (name: string) =>
    db.instance.findUniqueOrThrow({ where: { name }, include: { migrations: true } });
  const counting = (hostName: string, guest: string) => guestCounting(host(hostName), guest);
  const openstack = async (args: string[], opts: { noAuth?: boolean } = {}) => {
    const auth = opts.noAuth
      ? ['--os-auth-type', 'none', '--os-endpoint', `http://127.0.0.1:${noAuthPort}/v2.1`]
      : [
          '--os-auth-type',
          'admin_token',
          '--os-token',
          ADMIN_TOKEN,
          '--os-endpoint',
          `http://127.0.0.1:${apiPort}/v2.1`,
        ];
    const { stdout } = await promisify(execFile)(
      'openstack',
      [...auth, '--os-compute-api-version', '2.79', ...args],
      { timeout: 60_000, env: { ...process.env, PATH: `/usr/bin:${process.env.PATH}` } },
    );
    return stdout;
  };
  /** The client's stderr when it exits non-zero; fails the test if it succeeds. */
  const openstackFails = async (args: string[]) => {
    const failed = await openstack(args).then(
      (stdout) => new Error(`openstack ${args.join(' ')} succeeded: ${stdout}`),
      (error: { stderr: string }) => error.stderr,
    );
    if (failed instanceof Error) throw failed;
    return failed;
  };
  const json = async (args: string[], opts: { noAuth?: boolean } = {}) =>
    JSON.parse(await openstack([...args, '-f', 'json'], opts));
  const serverStatus = async (name: string) =>
    (await json(['server', 'show', name])) as Record<string, string>;
  const untilStatus = (name: string, status: string) =>
    until(`${name} ${status}`, 120_000, async () => {
      const server = await serverStatus(name);
      if (server.status === 'ERROR') throw new Error(`${name} went to ERROR`);
      return server.status === status ? server : undefined;
    });
  const startApi = (port: number, tokens: string) => {
    const log = openSync(join(dataDir, `api-${port}.log`), 'a');
    return spawn(process.execPath, [join(projectRoot(), 'dist', 'cli', 'main.js'), 'api'], {
      env: { ...process.env, ...env, FERRY_API_PORT: String(port), FERRY_API_TOKENS: tokens },
      stdio: ['ignore', log, log],
    });
  };
  const stop = async (child: ChildProcess | undefined) => {
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000)]);
    child.kill('SIGKILL');
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'ferry-e2e-openstack-'));
    env = {
      FERRY_DATA_DIR: dataDir,
      FERRY_DATABASE_URL: `file:${join(dataDir, 'ferry.db')}`,
      FERRY_TEMPORAL_ADDRESS: process.env.FERRY_TEST_TEMPORAL_ADDRESS,
      FERRY_LOG_FORMAT: 'json',
    };
    config = loadConfig({ ...process.env, ...env });
    await claimMachine(labStateDir(config));
    lab = await bringUpLab(config, 3, AGENT_ENV);
    const log = openSync(join(dataDir, 'control.log'), 'a');
    control = spawn(process.execPath, controlWorkerArgs(), {
      env: controlWorkerEnv({ ...process.env, ...env }),
      stdio: ['ignore', log, log],
    });
    db = await openDatabase(config.databaseUrl);
    expect(
      await ferry(
        ['flavors', 'create', 'lab.large', '--vcpus', '2', '--memory-mb', '192', '--disk-gb', '2'],
        env,
      ),
    ).toMatchObject({ code: 0 });
    [apiPort, noAuthPort] = [await freePort(), await freePort()];
    api = startApi(apiPort, `${ADMIN_TOKEN}:admin`);
    noAuthApi = startApi(noAuthPort, '');
    await until('both APIs up', 60_000, async () => {
      const answers = await Promise.all(
        [apiPort, noAuthPort].map((port) => fetch(`http://127.0.0.1:${port}/`).then((r) => r.ok)),
      );
      return answers.every(Boolean) ? true : undefined;
    });
    const refreshed = await ferry(['hosts', 'refresh', '--json'], env);
    if (JSON.parse(refreshed.stdout).failed.length > 0) {
      const logs = lab.hosts.map((h) => readFileSync(agentLogFile(h), 'utf8').slice(-2000));
      throw new Error(`hosts refresh failed: ${refreshed.stdout}\nagent logs:\n${logs.join('\n')}`);
    }
  });

  afterAll(async () => {
    await stop(api);
    await stop(noAuthApi);
    if (control && control.exitCode === null) {
      const exited = new Promise((resolve) => control.once('exit', resolve));
      control.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
      control.kill('SIGKILL');
    }
    await db?.$disconnect();
    if (config) {
      await takeDownLab(config);
      await releaseMachine(labStateDir(config));
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('lists servers, flavors and hypervisors, with and without a token', async () => {
    await bootLabInstance(config, { name: 'omega', host: 'host1' });
    await counting('host1', 'omega');
    const listed = await json(['server', 'list'], { noAuth: true });
    expect(listed).toEqual([expect.objectContaining({ Name: 'omega', Status: 'ACTIVE' })]);
    const shown = await serverStatus('omega');
    expect(shown).toMatchObject({
      'OS-EXT-SRV-ATTR:host': 'host1',
      'OS-EXT-STS:vm_state': 'active',
    });
    const flavors = (await json(['flavor', 'list'])).map((f: { Name: string }) => f.Name);
    expect(flavors.sort()).toEqual(['lab.large', 'lab.tiny']);
    const hypervisors = await json(['hypervisor', 'list']);
    expect(hypervisors.map((h: Record<string, string>) => h['Hypervisor Hostname']).sort()).toEqual(
      ['host1', 'host2', 'host3'],
    );
  });

  it('lists the compute services by their heartbeats, and disables, enables, forces down and up a host', async () => {
    type Service = Record<string, string>;
    const services = async () =>
      Object.fromEntries(
        ((await json(['compute', 'service', 'list'])) as Service[]).map((s) => [s.Host, s]),
      );
    // The control worker's heartbeat workflow asks every agent within its first round.
    const listed = await until('every host up', 60_000, async () => {
      const all = await services();
      return Object.values(all).every((s) => s.State === 'up') ? all : undefined;
    });
    expect(Object.keys(listed).sort()).toEqual(['host1', 'host2', 'host3']);
    expect(listed.host3).toMatchObject({ Binary: 'nova-compute', Zone: 'nova', Status: 'enabled' });

    const set = (flags: string[]) =>
      openstack(['compute', 'service', 'set', ...flags, 'host3', 'nova-compute']);
    await set(['--disable', '--disable-reason', 'patching']);
    expect((await services()).host3).toMatchObject({ Status: 'disabled', State: 'up' });
    expect(await db.host.findUniqueOrThrow({ where: { name: 'host3' } })).toMatchObject({
      state: 'disabled',
      disabledReason: 'patching',
    });
    await set(['--enable']);
    expect((await services()).host3).toMatchObject({ Status: 'enabled' });
    await set(['--down']);
    expect((await services()).host3).toMatchObject({ State: 'down' });
    expect(await db.host.findUniqueOrThrow({ where: { name: 'host3' } })).toMatchObject({
      forcedDown: true,
    });
    await set(['--up']);
    expect((await services()).host3).toMatchObject({ Status: 'enabled', State: 'up' });
  });

  it('live-migrates with --host (its action and events listed and shown), then cold-migrates and confirms', async () => {
    await openstack(['server', 'migrate', '--live-migration', '--host', 'host2', 'omega']);
    await until('omega on host2', 120_000, async () =>
      (await serverStatus('omega'))['OS-EXT-SRV-ATTR:host'] === 'host2' ? true : undefined,
    );
    await untilStatus('omega', 'ACTIVE');
    expect(await domainsOn('host2')).toContain('omega');
    expect(await domainsOn('host1')).not.toContain('omega');
    await counting('host2', 'omega');

    const omega = await instance('omega');
    const migration = omega.migrations.find((m) => m.migrationType === 'live-migration');
    const events = (await json(['server', 'event', 'list', 'omega'])) as Record<string, string>[];
    expect(events).toEqual([
      expect.objectContaining({
        'Request ID': migration?.uuid,
        'Server ID': omega.uuid,
        Action: 'live-migration',
      }),
    ]);
    const action = await json(['server', 'event', 'show', 'omega', events[0]['Request ID']]);
    expect(action).toMatchObject({
      action: 'live-migration',
      instance_uuid: omega.uuid,
      request_id: migration?.uuid,
      message: null,
    });
    expect(action.events).toContainEqual(
      expect.objectContaining({
        event: 'compute_live_migration',
        result: 'Success',
        host: 'host1',
        finish_time: expect.any(String),
      }),
    );

    await openstack(['server', 'migrate', 'omega']);
    const waiting = await untilStatus('omega', 'VERIFY_RESIZE');
    const dest = waiting['OS-EXT-SRV-ATTR:host'];
    expect(dest).not.toBe('host2');
    await openstack(['server', 'resize', 'confirm', 'omega']);
    await untilStatus('omega', 'ACTIVE');
    expect(await domainsOn('host2')).not.toContain('omega');
    expect(await domainsOn(dest)).toContain('omega');
    await counting(dest, 'omega');
    expect((await instance('omega')).hostName).toBe(dest);
  });

  it('resizes to another flavor and reverts', async () => {
    const before = (await instance('omega')).hostName;
    await openstack(['server', 'resize', '--flavor', 'lab.large', 'omega']);
    const waiting = await untilStatus('omega', 'VERIFY_RESIZE');
    expect(waiting.flavor).toMatchObject({ original_name: 'lab.large', vcpus: 2, ram: 192 });
    await openstack(['server', 'resize', 'revert', 'omega']);
    await untilStatus('omega', 'ACTIVE');
    expect(await instance('omega')).toMatchObject({ hostName: before, flavorId: 'lab.tiny' });
    await counting(before, 'omega');
  });

  it('lists, shows, force-completes and aborts live migrations of a guest that does not converge', async () => {
    await bootLabInstance(config, { name: 'sigma', host: 'host1', dirtyMb: 48, memoryMb: 160 });
    await counting('host1', 'sigma');
    const running = async () => {
      const [migration] = await until('a running migration listed', 60_000, async () => {
        const list = await json(['server', 'migration', 'list', '--server', 'sigma']);
        const live = list.filter((m: Record<string, string>) => m.Status === 'running');
        return live.length > 0 ? live : undefined;
      });
      return migration as Record<string, string | number>;
    };

    await openstack(['server', 'migrate', '--live-migration', '--host', 'host2', 'sigma']);
    const first = await running();
    const shown = await json(['server', 'migration', 'show', 'sigma', String(first.Id)]);
    expect(shown).toMatchObject({ 'Source Compute': 'host1', 'Dest Compute': 'host2' });
    await openstack(['server', 'migration', 'force', 'complete', 'sigma', String(first.Id)]);
    await until('sigma on host2', 120_000, async () =>
      (await instance('sigma')).hostName === 'host2' && (await instance('sigma')).taskState === null
        ? true
        : undefined,
    );
    await counting('host2', 'sigma');

    await openstack(['server', 'migrate', '--live-migration', '--host', 'host3', 'sigma']);
    const second = await running();
    await openstack(['server', 'migration', 'abort', 'sigma', String(second.Id)]);
    await until('the migration cancelled', 60_000, async () =>
      (await db.migration.findFirstOrThrow({ where: { id: Number(second.Id) } })).status ===
      'cancelled'
        ? true
        : undefined,
    );
    expect(await domainsOn('host2')).toContain('sigma');
    expect(await domainsOn('host3')).not.toContain('sigma');
    expect(await instance('sigma')).toMatchObject({ hostName: 'host2', taskState: null });
    await run('virsh', ['-c', host('host2').libvirtUri, 'destroy', 'sigma']);
  });

  // Last: it kills host1. A diskless guest needs no shared storage to be evacuated
  // (docs/evacuate.md, "Storage the destination sees").
  it('evacuates a guest of a dead host forced down, and lists the evacuation', async () => {
    await bootLabInstance(config, { name: 'delta', host: 'host1' });
    await counting('host1', 'delta');
    expect(await openstackFails(['server', 'evacuate', 'delta'])).toMatch(
      /host host1 of instance delta is up.*\(HTTP 409\)/s,
    );

    await killLabHost(config, 'host1');
    await openstack(['compute', 'service', 'set', '--down', 'host1', 'nova-compute']);
    // python-openstackclient 6.0 sends the action (microversion 2.79, `{"host": "host2"}`), then
    // fails printing Nova's empty answer: the evacuation is accepted all the same.
    expect(await openstackFails(['server', 'evacuate', '--host', 'host2', 'delta'])).toMatch(
      /^'TupleWithMeta' object has no attribute 'to_dict'$/m,
    );
    await counting('host2', 'delta');
    expect(await domainsOn('host2')).toContain('delta');
    await until('delta ACTIVE on host2', 60_000, async () => {
      const server = await serverStatus('delta');
      return server.status === 'ACTIVE' && server['OS-EXT-SRV-ATTR:host'] === 'host2'
        ? true
        : undefined;
    });
    const evacuations = () =>
      json(['server', 'migration', 'list', '--server', 'delta', '--type', 'evacuation']);
    expect(await evacuations()).toEqual([
      expect.objectContaining({
        Type: 'evacuation',
        Status: 'done',
        'Source Compute': 'host1',
        'Dest Compute': 'host2',
      }),
    ]);

    // host1 back: the control plane has it destroy its stale definition of delta.
    await restartLabHost(config, 'host1', AGENT_ENV);
    await until('the evacuation completed', 90_000, async () =>
      (await evacuations())[0]?.Status === 'completed' ? true : undefined,
    );
    expect(await domainsOn('host1')).not.toContain('delta');
    await counting('host2', 'delta');
  }, 300_000);
});
