import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Database } from '../../db/database';
import { ferry, type CliResult } from '../support/ferry-cli';

/** The domain libvirt's test driver (test:///default) always has, running. */
const TEST_DOMAIN = { name: 'test', uuid: '6695eb01-f6a4-8304-79aa-97f2502e193f' };

const UUID = {
  web: '11111111-0000-4000-8000-000000000001',
  db: '11111111-0000-4000-8000-000000000002',
  odd: '11111111-0000-4000-8000-000000000003',
  held: '11111111-0000-4000-8000-000000000004',
  /** The name of test:///default's domain, with another UUID. */
  test: '11111111-0000-4000-8000-000000000005',
};

/** A test-driver node: what `test:///PATH` serves, a fresh copy on every connection. */
function nodeXml(): string {
  const domain = (name: keyof typeof UUID, vcpus: number, memoryMiB: number, extra = '') => `
  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    <name>${name}</name>
    <uuid>${UUID[name]}</uuid>
    <memory unit='MiB'>${memoryMiB}</memory>
    <vcpu>${vcpus}</vcpu>
    <os><type>hvm</type></os>
    ${extra}
  </domain>`;
  const disk = `<devices><disk type='file' device='disk'>
    <source file='/var/lib/ferry/instances/web/disk'/><target dev='vda'/></disk></devices>`;
  return `<node>
  <cpu><mhz>2000</mhz><model>x86_64</model><active>8</active><max>8</max></cpu>
  <memory>16777216</memory>
  ${domain('web', 1, 512, disk)}
  ${domain('db', 2, 1024, '<test:runstate>5</test:runstate>')}
  ${domain('odd', 3, 700)}
  ${domain('held', 1, 512, '<test:runstate>3</test:runstate>')}
  ${domain('test', 2, 8192)}
</node>`;
}

/** stderr's one line after "ferry: ". */
function reason(result: CliResult): string {
  expect(result.stderr.startsWith('ferry: ')).toBe(true);
  expect(result.stderr.endsWith('\n')).toBe(true);
  const line = result.stderr.slice('ferry: '.length, -1);
  expect(line).not.toContain('\n');
  return line;
}

/** The lines of a table or field listing, each run of padding cut to two spaces. */
const lines = (stdout: string) =>
  stdout
    .trimEnd()
    .split('\n')
    .map((line) => line.replace(/ {2,}/g, '  '));

/**
 * `ferry migrations`, `ferry instances` and `ferry hosts disable|enable` as an operator runs them
 * (the built CLI), on a scratch SQLite database, importing from libvirt's test driver. The parts
 * run in order, each on the rows the ones before left.
 */
describe('ferry migrations, instances and hosts disable/enable', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-cli-inventory-'));
  const env = { FERRY_DATA_DIR: dir, FERRY_DATABASE_URL: `file:${join(dir, 'ferry.db')}` };
  const nodeFile = join(dir, 'node.xml');
  let db: Database;

  beforeAll(async () => {
    writeFileSync(nodeFile, nodeXml());
    expect(await ferry(['db', 'migrate'], env)).toMatchObject({ code: 0 });
    db = await openDatabase(env.FERRY_DATABASE_URL);
    await db.host.createMany({
      data: [
        { name: 'td', libvirtUri: 'test:///default' },
        { name: 'node', libvirtUri: `test://${nodeFile}` },
        { name: 'gone', libvirtUri: `qemu+unix:///system?socket=${join(dir, 'none.sock')}` },
        { name: 'mig-a', libvirtUri: 'qemu+tcp://10.0.0.1/system' },
        { name: 'mig-b', libvirtUri: 'qemu+tcp://10.0.0.2/system' },
        { name: 'dead', libvirtUri: 'qemu+tcp://10.0.0.3/system', state: 'down' },
      ],
    });
    await db.flavor.createMany({
      data: [
        { id: 'tiny', name: 'tiny', vcpus: 1, memoryMiB: 512, rootDiskGiB: 1 },
        { id: 'tiny.disk', name: 'tiny.disk', vcpus: 1, memoryMiB: 512, rootDiskGiB: 20 },
        { id: 'medium', name: 'medium', vcpus: 2, memoryMiB: 1024, rootDiskGiB: 20 },
      ],
    });
  });

  afterAll(async () => {
    await db?.$disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('instances import', () => {
    it('skips a domain whose size matches no flavor, then imports it once a flavor fits', async () => {
      const none = await ferry(['instances', 'import', '--host', 'td'], env);
      expect(none).toMatchObject({ code: 0, stderr: '' });
      expect(lines(none.stdout)).toEqual([
        'RESULT  DOMAIN  UUID  DETAILS',
        `skipped  test  ${TEST_DOMAIN.uuid}  no enabled flavor has 2 vCPUs and 8192 MiB (ferry flavors create one)`,
        'td: 0 imported, 1 skipped',
      ]);
      expect(await db.instance.count()).toBe(0);

      await db.flavor.create({
        data: { id: 'm1.test', name: 'm1.test', vcpus: 2, memoryMiB: 8192, rootDiskGiB: 20 },
      });
      const imported = await ferry(['instances', 'import', '--host', 'td', '--json'], env);
      expect(imported.code).toBe(0);
      expect(JSON.parse(imported.stdout)).toEqual({
        host: 'td',
        imported: [
          {
            ...TEST_DOMAIN,
            powerState: 'running',
            status: 'ACTIVE',
            flavor: 'm1.test',
            vcpus: 2,
            memoryMiB: 8192,
            warnings: [
              'disk vda (/guest/diskimage1) is outside the instances dir /var/lib/ferry/instances: ferry moves only disks it keeps there',
            ],
          },
        ],
        skipped: [],
      });
      expect(
        await db.instance.findUnique({
          where: { uuid: TEST_DOMAIN.uuid },
          select: {
            name: true,
            hostName: true,
            flavorId: true,
            vmState: true,
            taskState: true,
            powerState: true,
            locked: true,
          },
        }),
      ).toEqual({
        name: 'test',
        hostName: 'td',
        flavorId: 'm1.test',
        vmState: 'active',
        taskState: null,
        powerState: 'running',
        locked: false,
      });

      const again = await ferry(['instances', 'import', '--host', 'td'], env);
      expect(again.code).toBe(0);
      expect(lines(again.stdout)).toEqual([
        'RESULT  DOMAIN  UUID  DETAILS',
        `skipped  test  ${TEST_DOMAIN.uuid}  already known: instance test on host td`,
        'td: 0 imported, 1 skipped',
      ]);
      expect(await db.instance.count()).toBe(1);
    });

    it('imports running and shut-off domains, and says why it skips the others', async () => {
      const first = await ferry(['instances', 'import', '--host', 'node'], env);
      expect(first.code).toBe(0);
      expect(lines(first.stdout)).toEqual([
        'RESULT  DOMAIN  UUID  DETAILS',
        `imported  db  ${UUID.db}  SHUTOFF, flavor medium`,
        `skipped  held  ${UUID.held}  it is paused: import it when it is running or shut off`,
        `skipped  odd  ${UUID.odd}  no enabled flavor has 3 vCPUs and 700 MiB (ferry flavors create one)`,
        `skipped  test  ${UUID.test}  the name is taken by instance ${TEST_DOMAIN.uuid} on host td`,
        `skipped  web  ${UUID.web}  flavors tiny, tiny.disk all have 1 vCPU and 512 MiB: name one with --flavor`,
        'node: 1 imported, 4 skipped',
      ]);

      const named = await ferry(
        ['instances', 'import', '--host', 'node', '--flavor', 'tiny', '--json'],
        env,
      );
      expect(named.code).toBe(0);
      const result = JSON.parse(named.stdout);
      expect(result.imported).toEqual([
        {
          name: 'web',
          uuid: UUID.web,
          powerState: 'running',
          status: 'ACTIVE',
          flavor: 'tiny',
          vcpus: 1,
          memoryMiB: 512,
          warnings: [],
        },
      ]);
      expect(result.skipped).toEqual([
        { name: 'db', uuid: UUID.db, reason: 'already known: instance db on host node' },
        {
          name: 'held',
          uuid: UUID.held,
          reason: 'it is paused: import it when it is running or shut off',
        },
        {
          name: 'odd',
          uuid: UUID.odd,
          reason: 'it has 3 vCPUs and 700 MiB; flavor tiny has 1 vCPU and 512 MiB',
        },
        {
          name: 'test',
          uuid: UUID.test,
          reason: `the name is taken by instance ${TEST_DOMAIN.uuid} on host td`,
        },
      ]);

      const rows = await db.instance.findMany({
        where: { hostName: 'node' },
        orderBy: { name: 'asc' },
        select: { uuid: true, name: true, flavorId: true, vmState: true, powerState: true },
      });
      expect(rows).toEqual([
        {
          uuid: UUID.db,
          name: 'db',
          flavorId: 'medium',
          vmState: 'active',
          powerState: 'shutdown',
        },
        { uuid: UUID.web, name: 'web', flavorId: 'tiny', vmState: 'active', powerState: 'running' },
      ]);
      // Its definition, recorded for an evacuation (docs/evacuate.md).
      const web = await db.instance.findUniqueOrThrow({ where: { uuid: UUID.web } });
      expect(web.domainXml).toContain(`<uuid>${UUID.web}</uuid>`);
    });

    it.each([
      [['--host', 'nowhere'], 'compute host nowhere could not be found'],
      [['--host', 'node', '--flavor', 'huge'], 'flavor huge could not be found'],
      [
        ['--host', 'gone'],
        /^cannot reach gone's libvirt at qemu\+unix:.*none\.sock: Failed to connect/,
      ],
    ])('refuses %j with exit 1 and imports nothing', async (options, message) => {
      const before = await db.instance.count();
      const result = await ferry(['instances', 'import', ...options], env);
      expect(result).toMatchObject({ code: 1, stdout: '' });
      expect(reason(result)).toMatch(message);
      expect(await db.instance.count()).toBe(before);
    });
  });

  describe('instances list and show', () => {
    const STATES = [
      ['s-active', 'active', null, 'running', 'ACTIVE'],
      ['s-shutoff', 'active', null, 'shutdown', 'SHUTOFF'],
      ['s-stopped', 'stopped', null, 'shutdown', 'SHUTOFF'],
      ['s-migrating', 'active', 'migrating', 'running', 'MIGRATING'],
      ['s-resize', 'active', 'resize_migrating', 'running', 'RESIZE'],
      ['s-resize-stopped', 'stopped', 'resize_prep', 'shutdown', 'RESIZE'],
      ['s-confirming', 'resized', 'resize_confirming', 'running', 'VERIFY_RESIZE'],
      ['s-verify', 'resized', null, 'running', 'VERIFY_RESIZE'],
      ['s-revert', 'resized', 'resize_reverting', 'running', 'REVERT_RESIZE'],
      ['s-error', 'error', null, 'running', 'ERROR'],
    ] as const;

    beforeAll(async () => {
      await db.instance.createMany({
        data: STATES.map(([name, vmState, taskState, powerState], i) => ({
          uuid: `22222222-0000-4000-8000-0000000000${String(i).padStart(2, '0')}`,
          name,
          hostName: 'mig-a',
          flavorId: 'tiny',
          vmState,
          taskState,
          powerState,
        })),
      });
    });

    it("shows each instance with Nova's status", async () => {
      const [json, table, all] = await Promise.all([
        ferry(['instances', 'list', '--host', 'mig-a', '--json'], env),
        ferry(['instances', 'list', '--host', 'node'], env),
        ferry(['instances', 'list', '--json'], env),
      ]);
      expect(json.code).toBe(0);
      const listed = JSON.parse(json.stdout) as { name: string; status: string }[];
      expect(listed.map((i) => [i.name, i.status])).toEqual(
        [...STATES]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([name, , , , status]) => [name, status]),
      );
      expect(lines(table.stdout)).toEqual([
        'NAME  UUID  STATUS  TASK STATE  POWER STATE  HOST  FLAVOR',
        `db  ${UUID.db}  SHUTOFF  -  shutdown  node  medium`,
        `web  ${UUID.web}  ACTIVE  -  running  node  tiny`,
      ]);
      expect(JSON.parse(all.stdout)).toHaveLength(STATES.length + 3);
    });

    it('shows one instance by name or UUID, with its flavor and migrations', async () => {
      const [byName, byUuid] = await Promise.all([
        ferry(['instances', 'show', 's-revert'], env),
        ferry(['instances', 'show', '22222222-0000-4000-8000-000000000008', '--json'], env),
      ]);
      expect(byName.code).toBe(0);
      expect(lines(byName.stdout).slice(0, 10)).toEqual([
        'name  s-revert',
        'uuid  22222222-0000-4000-8000-000000000008',
        'status  REVERT_RESIZE',
        'vm state  resized',
        'task state  resize_reverting',
        'power state  running',
        'host  mig-a',
        'flavor  tiny (1 vCPU, 512 MiB, 1 GiB)',
        'progress  0%',
        'locked  no',
      ]);
      expect(byName.stdout.trimEnd().endsWith('\n\nno migrations')).toBe(true);
      expect(JSON.parse(byUuid.stdout)).toMatchObject({
        name: 's-revert',
        status: 'REVERT_RESIZE',
        host: 'mig-a',
        flavorName: 'tiny',
        vcpus: 1,
        memoryMiB: 512,
        migrations: [],
      });
    });

    it.each([
      [['instances', 'show', 'nobody'], 'instance nobody could not be found'],
      [['instances', 'list', '--host', 'nowhere'], 'compute host nowhere could not be found'],
    ])('refuses %j with exit 1', async (args, message) => {
      const result = await ferry(args, env);
      expect(result).toMatchObject({ code: 1, stdout: '' });
      expect(reason(result)).toBe(message);
    });
  });

  describe('migrations list and show', () => {
    const GiB = 1024 ** 3;
    const created = new Date('2026-01-02T03:04:05.678Z');
    const deadline = new Date('2026-01-03T03:04:05.000Z');

    beforeAll(async () => {
      const instance = (uuid: string, name: string) => ({
        uuid,
        name,
        hostName: 'mig-a',
        flavorId: 'tiny',
      });
      await db.instance.createMany({
        data: [
          instance('33333333-0000-4000-8000-000000000001', 'mover'),
          instance('33333333-0000-4000-8000-000000000002', 'grower'),
        ],
      });
      const migration = (n: number, instanceUuid: string) => ({
        id: n,
        uuid: `44444444-0000-4000-8000-00000000000${n}`,
        instanceUuid,
        sourceHost: 'mig-a',
        destHost: 'mig-b',
        oldFlavorId: 'tiny',
        newFlavorId: 'tiny',
        workflowId: `instance-${instanceUuid}`,
        createdAt: created,
        updatedAt: created,
      });
      await db.migration.create({
        data: {
          ...migration(1, '33333333-0000-4000-8000-000000000001'),
          migrationType: 'live-migration',
          status: 'completed',
          memoryTotalBytes: BigInt(GiB),
          memoryProcessedBytes: BigInt(GiB),
          memoryRemainingBytes: 0n,
          diskTotalBytes: BigInt(2 * GiB),
          diskProcessedBytes: BigInt(GiB / 2),
          diskRemainingBytes: BigInt(1.5 * GiB),
          finishedAt: created,
        },
      });
      await db.migration.create({
        data: {
          ...migration(2, '33333333-0000-4000-8000-000000000002'),
          migrationType: 'resize',
          status: 'finished',
          newFlavorId: 'medium',
          confirmDeadline: deadline,
        },
      });
      await db.migration.create({
        data: {
          ...migration(3, '33333333-0000-4000-8000-000000000001'),
          migrationType: 'migration',
          status: 'error',
          destHost: null,
          error: 'No valid host was found.\nThere are not enough hosts available.',
        },
      });
      await db.instanceAction.create({
        data: {
          instanceUuid: '33333333-0000-4000-8000-000000000002',
          action: 'resize',
          requestId: '44444444-0000-4000-8000-000000000002',
          userId: 'cli',
          startTime: created,
          events: {
            create: [
              {
                event: 'compute_prep_resize',
                startTime: created,
                finishTime: created,
                result: 'Success',
              },
              {
                event: 'compute_finish_resize',
                startTime: new Date(created.getTime() + 1000),
                finishTime: null,
                result: null,
                details: 'copying disk vda',
              },
            ],
          },
        },
      });
    });

    const ids = (result: CliResult) =>
      (JSON.parse(result.stdout) as { id: number }[]).map((m) => m.id);

    it('lists them newest first, filtered by instance, status and type', async () => {
      const [all, byName, byUuidAndStatus, byType] = await Promise.all([
        ferry(['migrations', 'list', '--json'], env),
        ferry(['migrations', 'list', '--instance', 'mover', '--json'], env),
        ferry(
          [
            'migrations',
            'list',
            '--instance',
            '33333333-0000-4000-8000-000000000002',
            '--status',
            'finished',
            '--json',
          ],
          env,
        ),
        ferry(
          ['migrations', 'list', '--instance', 'mover', '--type', 'live-migration', '--json'],
          env,
        ),
      ]);
      expect(ids(all)).toEqual([3, 2, 1]);
      expect(ids(byName)).toEqual([3, 1]);
      expect(ids(byUuidAndStatus)).toEqual([2]);
      expect(ids(byType)).toEqual([1]);
      expect(JSON.parse(all.stdout)[2]).toEqual({
        id: 1,
        uuid: '44444444-0000-4000-8000-000000000001',
        instanceUuid: '33333333-0000-4000-8000-000000000001',
        instanceName: 'mover',
        type: 'live-migration',
        status: 'completed',
        sourceHost: 'mig-a',
        destHost: 'mig-b',
        oldFlavorId: 'tiny',
        newFlavorId: 'tiny',
        workflowId: 'instance-33333333-0000-4000-8000-000000000001',
        memoryTotalBytes: GiB,
        memoryProcessedBytes: GiB,
        memoryRemainingBytes: 0,
        diskTotalBytes: 2 * GiB,
        diskProcessedBytes: GiB / 2,
        diskRemainingBytes: 1.5 * GiB,
        error: null,
        confirmDeadline: null,
        createdAt: created.toISOString(),
        updatedAt: created.toISOString(),
        finishedAt: created.toISOString(),
      });
    });

    it('prints a table with hosts, progress in MiB, times and the error on one line', async () => {
      const table = await ferry(['migrations', 'list'], env);
      expect(table).toMatchObject({ code: 0, stderr: '' });
      const time = '2026-01-02T03:04:05Z';
      expect(lines(table.stdout)).toEqual([
        'ID  UUID  INSTANCE  TYPE  STATUS  SOURCE → DEST  MEMORY MIB  DISK MIB  CREATED  UPDATED  ERROR',
        `3  44444444-0000-4000-8000-000000000003  mover  migration  error  mig-a → ?  -  -  ${time}  ${time}  No valid host was found. There are not enough hosts available.`,
        `2  44444444-0000-4000-8000-000000000002  grower  resize  finished  mig-a → mig-b  -  -  ${time}  ${time}  -`,
        `1  44444444-0000-4000-8000-000000000001  mover  live-migration  completed  mig-a → mig-b  1024 of 1024  512 of 2048  ${time}  ${time}  -`,
      ]);
    });

    it("shows one by id or uuid, with its action's events and the confirm deadline", async () => {
      const [text, json, bare] = await Promise.all([
        ferry(['migrations', 'show', '2'], env),
        ferry(['migrations', 'show', '44444444-0000-4000-8000-000000000002', '--json'], env),
        ferry(['migrations', 'show', '1'], env),
      ]);
      expect(text).toMatchObject({ code: 0, stderr: '' });
      expect(lines(text.stdout)).toEqual([
        'id  2',
        'uuid  44444444-0000-4000-8000-000000000002',
        'instance  grower (33333333-0000-4000-8000-000000000002)',
        'type  resize',
        'status  finished',
        'source → dest  mig-a → mig-b',
        'flavor  tiny → medium',
        'memory MiB  -',
        'disk MiB  -',
        'workflow  instance-33333333-0000-4000-8000-000000000002',
        'action  resize by cli',
        'created  2026-01-02T03:04:05Z',
        'updated  2026-01-02T03:04:05Z',
        'finished  -',
        'confirm deadline  2026-01-03T03:04:05Z',
        'error  -',
        '',
        'EVENT  START  FINISH  RESULT  DETAILS',
        'compute_prep_resize  2026-01-02T03:04:05Z  2026-01-02T03:04:05Z  Success  -',
        'compute_finish_resize  2026-01-02T03:04:06Z  -  -  copying disk vda',
      ]);
      expect(JSON.parse(json.stdout)).toMatchObject({
        id: 2,
        confirmDeadline: deadline.toISOString(),
        action: { action: 'resize', userId: 'cli', finishTime: null },
        events: [
          {
            event: 'compute_prep_resize',
            startTime: created.toISOString(),
            finishTime: created.toISOString(),
            result: 'Success',
            details: null,
          },
          {
            event: 'compute_finish_resize',
            startTime: '2026-01-02T03:04:06.678Z',
            finishTime: null,
            result: null,
            details: 'copying disk vda',
          },
        ],
      });
      expect(bare.code).toBe(0);
      expect(lines(bare.stdout)).toContain('memory MiB  1024 of 1024');
      expect(bare.stdout.trimEnd().endsWith('\n\nno instance action events')).toBe(true);
    });

    it.each([
      [['migrations', 'show', '99'], 'migration 99 could not be found'],
      [['migrations', 'list', '--instance', 'nobody'], 'instance nobody could not be found'],
    ])('refuses %j with exit 1', async (args, message) => {
      const result = await ferry(args, env);
      expect(result).toMatchObject({ code: 1, stdout: '' });
      expect(reason(result)).toBe(message);
    });
  });

  describe('hosts disable and enable', () => {
    const row = (name: string) =>
      db.host.findUniqueOrThrow({
        where: { name },
        select: { state: true, disabledReason: true },
      });

    it('disables a host with a reason, shows it, and enables it again', async () => {
      const disabled = await ferry(['hosts', 'disable', 'mig-b', '--reason', 'new DIMMs'], env);
      expect(disabled).toMatchObject({ code: 0, stdout: 'host mig-b disabled (new DIMMs)\n' });
      expect(await row('mig-b')).toEqual({ state: 'disabled', disabledReason: 'new DIMMs' });
      const listed = JSON.parse((await ferry(['hosts', 'list', '--json'], env)).stdout);
      expect(listed.find((h: { name: string }) => h.name === 'mig-b')).toMatchObject({
        state: 'disabled',
        disabledReason: 'new DIMMs',
      });

      const enabled = await ferry(['hosts', 'enable', 'mig-b'], env);
      expect(enabled).toMatchObject({ code: 0, stdout: 'host mig-b enabled\n' });
      expect(await row('mig-b')).toEqual({ state: 'up', disabledReason: null });
      expect(await ferry(['hosts', 'enable', 'mig-b'], env)).toMatchObject({
        code: 0,
        stdout: 'host mig-b is already enabled\n',
      });
      expect(await row('mig-b')).toEqual({ state: 'up', disabledReason: null });
    });

    it('forces a host down and up: listed down whatever its heartbeat, placed on again after', async () => {
      await db.host.update({ where: { name: 'mig-b' }, data: { lastHeartbeatAt: new Date() } });
      const liveness = async () =>
        (
          JSON.parse((await ferry(['hosts', 'list', '--json'], env)).stdout) as {
            name: string;
          }[]
        ).find((h) => h.name === 'mig-b');
      expect(await liveness()).toMatchObject({ liveness: 'up', forcedDown: false });
      const down = await ferry(['hosts', 'force-down', 'mig-b'], env);
      expect(down).toMatchObject({
        code: 0,
        stdout: expect.stringMatching(/^host mig-b forced down/),
      });
      expect(await liveness()).toMatchObject({ liveness: 'down', forcedDown: true });
      expect((await ferry(['hosts', 'list'], env)).stdout).toMatch(/mig-b .*down \(forced\)/);
      const up = await ferry(['hosts', 'force-up', 'mig-b'], env);
      expect(up).toMatchObject({ code: 0, stdout: expect.stringMatching(/no longer forced down/) });
      expect(await liveness()).toMatchObject({ liveness: 'up', forcedDown: false });
    });

    it.each([
      [['hosts', 'disable', 'nowhere'], 'compute host nowhere could not be found'],
      [['hosts', 'force-down', 'nowhere'], 'compute host nowhere could not be found'],
      [
        ['hosts', 'enable', 'dead'],
        'host dead is down, not disabled: enabling it would not bring it up',
      ],
    ])('refuses %j with exit 1, changing no host', async (args, message) => {
      const before = await db.host.findMany({ orderBy: { name: 'asc' } });
      const result = await ferry(args, env);
      expect(result).toMatchObject({ code: 1, stdout: '' });
      expect(reason(result)).toBe(message);
      expect(await db.host.findMany({ orderBy: { name: 'asc' } })).toEqual(before);
    });
  });

  it('refuses usage mistakes with exit 2 and one line naming the problem', async () => {
    const cases: [string[], string | RegExp][] = [
      [
        ['migrations', 'list', '--type', 'cold'],
        '--type: "cold" is not live-migration, migration, resize or evacuation',
      ],
      [['migrations', 'show'], 'usage: ferry migrations show ID [--json]'],
      [['evacuate'], 'usage: ferry evacuate INSTANCE [--host H] [--wait] [--json]'],
      [
        ['hosts', 'evacuate', 'x', '--concurrency', '0'],
        '--concurrency: "0" is not a whole number of at least 1',
      ],
      [['instances'], 'usage: ferry instances list|show|import'],
      [['instances', 'list', '--yaml'], /^Unknown option '--yaml'/],
      [['instances', 'show'], 'usage: ferry instances show NAME|UUID [--json]'],
      [['instances', 'import'], 'usage: ferry instances import --host H [--flavor F] [--json]'],
      [['hosts', 'disable'], 'usage: ferry hosts disable NAME [--reason TEXT]'],
      [['hosts', 'disable', 'td', '--reason'], /^Option '--reason <value>' argument missing/],
      [['hosts', 'enable', 'td', 'mig-a'], 'usage: ferry hosts enable NAME'],
    ];
    const before = await db.host.findMany({ orderBy: { name: 'asc' } });
    const results = await Promise.all(cases.map(([args]) => ferry(args, env)));
    results.forEach((result, i) => {
      expect({ args: cases[i][0], code: result.code, stdout: result.stdout }).toEqual({
        args: cases[i][0],
        code: 2,
        stdout: '',
      });
      const expected = cases[i][1];
      if (typeof expected === 'string') expect(reason(result)).toBe(expected);
      else expect(reason(result)).toMatch(expected);
    });
    expect(await db.host.findMany({ orderBy: { name: 'asc' } })).toEqual(before);
  });
});
