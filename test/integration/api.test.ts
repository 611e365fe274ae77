/**
 * The REST API on a real SQLite database and the real Temporal server: version documents and
 * microversion headers, Nova's views of servers, flavors, hypervisors and migrations, the actions
 * it accepts (a Migration row and a started workflow, terminated at once), and how it relays
 * Updates to a workflow that refuses them or does not answer.
 */
import { randomUUID } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import { UPDATE_DEADLINE_MS } from '../../api/workflow-updates';
import type { LiveMigrationInput } from '../../workflows/live-migration-contract';
import { instanceWorkflowId } from '../../workflows/operation-types';
import type { ResizeInput } from '../../workflows/resize-contract';
import { resizeStatusQuery } from '../../workflows/resize-messages';
import { FakeFleet } from '../support/fake-live-migration-activities';
import { FakeResizeFleet } from '../support/fake-resize-activities';
import {
  addInstance,
  seedFleet,
  startApiHarness,
  type ApiHarness,
  type ApiRequest,
} from '../support/api-harness';

type Ids = { uuid: string; name: string };
/** A JSON object of a response, its fields read as lists or objects as the test knows them. */
type Item = Record<string, unknown>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('the REST API', () => {
  let api: ApiHarness;
  let base: string;
  /** The instances the read views show, one per Nova status. */
  const v = {} as Record<'act' | 'off' | 'mig' | 'rsz' | 'ver' | 'rev' | 'err' | 'far', Ids>;
  const m = {} as Record<'live' | 'resize' | 'failed' | 'done', { id: number; uuid: string }>;

  const get = async (path: string, extra: Partial<ApiRequest> = {}) => {
    const response = await api.call({ path, ...extra });
    expect(response.status).toBe(200);
    return response.body as Record<string, Item[] & Item>;
  };

  beforeAll(async () => {
    api = await startApiHarness();
    base = `http://127.0.0.1:${api.port}`;
    const { db } = api;
    await seedFleet(db);
    const order = ['act', 'off', 'mig', 'rsz', 'ver', 'rev', 'err', 'far'] as const;
    const states: Record<(typeof order)[number], Parameters<typeof addInstance>[2]> = {
      act: {},
      off: { powerState: 'shutdown' },
      mig: { taskState: 'migrating', progress: 40 },
      rsz: { taskState: 'resize_migrating' },
      ver: { hostName: 'dst', vmState: 'resized', flavorId: 'small' },
      rev: {
        hostName: 'dst',
        vmState: 'resized',
        taskState: 'resize_reverting',
        flavorId: 'small',
      },
      err: { vmState: 'error' },
      far: { hostName: 'dst' },
    };
    for (const [minute, key] of order.entries()) {
      const createdAt = new Date(Date.UTC(2025, 0, 1, 10, minute));
      v[key] = await addInstance(db, key, { ...states[key], createdAt });
    }
    const migration = async (
      instance: Ids,
      migrationType: string,
      status: string,
      extra: Record<string, unknown> = {},
    ) => {
      const row = await db.migration.create({
        data: {
          uuid: randomUUID(),
          instanceUuid: instance.uuid,
          migrationType,
          status,
          sourceHost: 'src',
          destHost: 'dst',
          oldFlavorId: 'tiny',
          newFlavorId: migrationType === 'resize' ? 'small' : 'tiny',
          workflowId: instanceWorkflowId(instance.uuid),
          ...extra,
        },
      });
      return { id: row.id, uuid: row.uuid };
    };
    const at = (minute: number) => ({ createdAt: new Date(Date.UTC(2025, 0, 1, 12, minute)) });
    m.done = await migration(v.act, 'live-migration', 'completed', at(0));
    m.failed = await migration(v.err, 'migration', 'error', {
      ...at(1),
      error: 'disk copy failed: checksum mismatch',
    });
    m.resize = await migration(v.ver, 'resize', 'finished', at(2));
    m.live = await migration(v.mig, 'live-migration', 'running', {
      ...at(3),
      memoryTotalBytes: 1n << 30n,
      memoryProcessedBytes: 1n << 29n,
      memoryRemainingBytes: 1n << 29n,
      diskTotalBytes: 0n,
      diskProcessedBytes: 0n,
      diskRemainingBytes: 0n,
    });
  });

  afterAll(async () => {
    await api?.close();
  });

  describe('versions', () => {
    it('serves the version documents without a token', async () => {
      expect(await get('/', { token: 'none', version: null })).toEqual({
        versions: [
          {
            id: 'v2.1',
            status: 'CURRENT',
            version: '2.95',
            min_version: '2.1',
            updated: '2013-07-23T11:33:21Z',
            links: [{ rel: 'self', href: `${base}/v2.1/` }],
          },
        ],
      });
      for (const path of ['/v2.1', '/v2.1/']) {
        const response = await api.call({ path, token: 'none', version: null });
        expect(response.status).toBe(200);
        expect(response.body).toMatchObject({
          version: {
            id: 'v2.1',
            version: '2.95',
            min_version: '2.1',
            links: [
              { rel: 'self', href: `${base}/v2.1/` },
              expect.objectContaining({ rel: 'describedby' }),
            ],
            'media-types': [
              {
                base: 'application/json',
                type: 'application/vnd.openstack.compute+json;version=2.1',
              },
            ],
          },
        });
        expect(response.headers['openstack-api-version']).toBe('compute 2.1');
      }
    });

    it.each([
      [{ 'OpenStack-API-Version': 'compute 2.79' }, '2.79'],
      [{ 'OpenStack-API-Version': 'volume 3.10, compute 2.60' }, '2.60'],
      [{ 'X-OpenStack-Nova-API-Version': '2.53' }, '2.53'],
      [{ 'OpenStack-API-Version': 'compute latest' }, '2.95'],
      [{}, '2.1'],
    ])('negotiates %j as %s and says so', async (headers, version) => {
      const response = await api.call({ path: '/v2.1/flavors', version: null, headers });
      expect(response.status).toBe(200);
      expect(response.headers).toMatchObject({
        'openstack-api-version': `compute ${version}`,
        'x-openstack-nova-api-version': version,
        vary: 'OpenStack-API-Version, X-OpenStack-Nova-API-Version',
        'x-openstack-request-id': expect.stringMatching(/^req-[0-9a-f-]{36}$/),
      });
    });

    it('keeps GET /health', async () => {
      expect(await get('/health', { token: 'none', version: null })).toMatchObject({
        status: 'ok',
        temporal: { ok: true },
        database: { ok: true },
      });
    });
  });

  describe('servers', () => {
    it('lists servers with links, newest first, a page at a time', async () => {
      const { servers } = await get('/v2.1/servers');
      expect(servers.map((server) => server.name)).toEqual(
        ['far', 'err', 'rev', 'ver', 'rsz', 'mig', 'off', 'act'].map(
          (key) => v[key as keyof typeof v].name,
        ),
      );
      expect(servers[0]).toEqual({
        id: v.far.uuid,
        name: v.far.name,
        links: [
          { rel: 'self', href: `${base}/v2.1/servers/${v.far.uuid}` },
          { rel: 'bookmark', href: `${base}/servers/${v.far.uuid}` },
        ],
      });
      const first = await get('/v2.1/servers?limit=5');
      expect(first.servers).toHaveLength(5);
      const next = (first.servers_links as unknown as { rel: string; href: string }[])[0];
      expect(next).toEqual({
        rel: 'next',
        href: `${base}/v2.1/servers?limit=5&marker=${v.rsz.uuid}`,
      });
      const rest = await get(next.href.slice(base.length));
      expect(rest.servers.map((server) => server.id)).toEqual([v.mig.uuid, v.off.uuid, v.act.uuid]);
      expect(rest.servers_links).toBeUndefined();
    });

    it("shows Nova's status, states and power state for every state ferry has", async () => {
      const { servers } = await get('/v2.1/servers/detail');
      const byId = new Map(servers.map((server) => [server.id, server]));
      const expected: [keyof typeof v, string, string, string | null, number, string][] = [
        ['act', 'ACTIVE', 'active', null, 1, 'src'],
        ['off', 'SHUTOFF', 'stopped', null, 4, 'src'],
        ['mig', 'MIGRATING', 'active', 'migrating', 1, 'src'],
        ['rsz', 'RESIZE', 'active', 'resize_migrating', 1, 'src'],
        ['ver', 'VERIFY_RESIZE', 'resized', null, 1, 'dst'],
        ['rev', 'REVERT_RESIZE', 'resized', 'resize_reverting', 1, 'dst'],
        ['err', 'ERROR', 'error', null, 1, 'src'],
      ];
      for (const [key, status, vmState, taskState, powerState, host] of expected) {
        expect(byId.get(v[key].uuid)).toMatchObject({
          status,
          'OS-EXT-STS:vm_state': vmState,
          'OS-EXT-STS:task_state': taskState,
          'OS-EXT-STS:power_state': powerState,
          'OS-EXT-SRV-ATTR:host': host,
          'OS-EXT-SRV-ATTR:hypervisor_hostname': host,
        });
      }
      expect(byId.get(v.mig.uuid)).toMatchObject({ progress: 40, locked: false });
      expect(byId.get(v.off.uuid)).not.toHaveProperty('progress');
      expect(byId.get(v.err.uuid)).toMatchObject({
        fault: { code: 500, message: 'disk copy failed: checksum mismatch' },
      });
      expect(byId.get(v.act.uuid)).not.toHaveProperty('fault');
    });

    it('shows one server, its flavor as the microversion has it', async () => {
      const { server } = await get(`/v2.1/servers/${v.ver.uuid}`);
      expect(server).toMatchObject({
        id: v.ver.uuid,
        name: v.ver.name,
        status: 'VERIFY_RESIZE',
        flavor: {
          vcpus: 2,
          ram: 256,
          disk: 2,
          ephemeral: 0,
          swap: 0,
          original_name: 'small',
          extra_specs: {},
        },
        host_status: 'UP',
        tags: [],
        locked_reason: null,
        created: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      });
      const old = (await get(`/v2.1/servers/${v.ver.uuid}`, { version: '2.1' })).server;
      expect(old.flavor).toEqual({
        id: 'small',
        links: [{ rel: 'bookmark', href: `${base}/flavors/small` }],
      });
      expect(old).not.toHaveProperty('locked');
      expect(old).not.toHaveProperty('OS-EXT-SRV-ATTR:hostname');
    });

    it('hides the host from members', async () => {
      const { server } = await get(`/v2.1/servers/${v.act.uuid}`, { token: 'member' });
      expect(server).toMatchObject({ status: 'ACTIVE', 'OS-EXT-STS:vm_state': 'active' });
      expect(Object.keys(server).filter((key) => key.startsWith('OS-EXT-SRV-ATTR'))).toEqual([]);
      expect(server).not.toHaveProperty('host_status');
    });

    it('filters by status, host (admins only) and name', async () => {
      const ids = async (query: string, token: 'admin' | 'member' = 'admin') =>
        (await get(`/v2.1/servers/detail?${query}`, { token })).servers.map((s) => s.id);
      expect(await ids('status=shutoff')).toEqual([v.off.uuid]);
      expect(await ids('status=ERROR&status=VERIFY_RESIZE')).toEqual([v.err.uuid, v.ver.uuid]);
      expect(await ids('host=dst')).toEqual([v.far.uuid, v.rev.uuid, v.ver.uuid]);
      expect(await ids('host=dst', 'member')).toHaveLength(8);
      expect(await ids(`name=${encodeURIComponent(`^${v.act.name}$`)}`)).toEqual([v.act.uuid]);
      expect(await ids('name=^ve')).toEqual([v.ver.uuid]);
      expect(await ids('flavor=small')).toEqual([v.rev.uuid, v.ver.uuid]);
    });
  });

  describe('flavors', () => {
    it('lists enabled flavors to members, all to admins', async () => {
      const names = async (token: 'admin' | 'member') =>
        (await get('/v2.1/flavors', { token })).flavors.map((flavor) => flavor.name);
      expect(await names('member')).toEqual(['big', 'small', 'tiny']);
      expect(await names('admin')).toEqual(['big', 'old', 'small', 'tiny']);
      expect((await get('/v2.1/flavors?minRam=200&minDisk=3')).flavors).toEqual([
        {
          id: 'big',
          name: 'big',
          links: [
            { rel: 'self', href: `${base}/v2.1/flavors/big` },
            { rel: 'bookmark', href: `${base}/flavors/big` },
          ],
          description: null,
        },
      ]);
    });

    it("details a flavor in Nova's fields", async () => {
      const { flavor } = await get('/v2.1/flavors/small', { token: 'member', version: '2.1' });
      expect(flavor).toEqual({
        id: 'small',
        name: 'small',
        links: expect.any(Array),
        ram: 256,
        disk: 2,
        vcpus: 2,
        'OS-FLV-EXT-DATA:ephemeral': 0,
        'OS-FLV-DISABLED:disabled': false,
        swap: '',
        rxtx_factor: 1.0,
        'os-flavor-access:is_public': true,
      });
      const { flavors } = await get('/v2.1/flavors/detail', { version: '2.75' });
      expect(flavors.find((f) => f.id === 'old')).toMatchObject({
        'OS-FLV-DISABLED:disabled': true,
        swap: 0,
        extra_specs: {},
      });
    });
  });

  describe('hypervisors', () => {
    it('lists hosts with integer ids before 2.53 and the usage of their instances', async () => {
      expect((await get('/v2.1/os-hypervisors', { version: '2.1' })).hypervisors).toEqual([
        { id: 1, hypervisor_hostname: 'src', state: 'up', status: 'enabled' },
        { id: 2, hypervisor_hostname: 'dst', state: 'up', status: 'enabled' },
        { id: 3, hypervisor_hostname: 'off', state: 'up', status: 'disabled' },
        { id: 4, hypervisor_hostname: 'gone', state: 'down', status: 'enabled' },
      ]);
      const detail = (await get('/v2.1/os-hypervisors/detail', { version: '2.1' })).hypervisors;
      expect(detail[0]).toEqual({
        id: 1,
        hypervisor_hostname: 'src',
        state: 'up',
        status: 'enabled',
        hypervisor_type: 'QEMU',
        hypervisor_version: 8002000,
        host_ip: '192.0.2.1',
        service: { id: 1, host: 'src', disabled_reason: null },
        vcpus: 8,
        memory_mb: 8192,
        local_gb: 100,
        vcpus_used: 5,
        memory_mb_used: 640,
        local_gb_used: 5,
        free_ram_mb: 7552,
        free_disk_gb: 95,
        current_workload: 2,
        running_vms: 5,
        disk_available_least: 95,
        cpu_info: '{"arch":"x86_64","model":"Haswell"}',
      });
      expect(detail[2]).toMatchObject({ service: { disabled_reason: 'maintenance' } });
      const one = await get('/v2.1/os-hypervisors/2', { version: '2.28' });
      expect(one.hypervisor).toMatchObject({
        hypervisor_hostname: 'dst',
        running_vms: 3,
        vcpus_used: 5,
        current_workload: 1,
        cpu_info: { arch: 'x86_64', model: 'Haswell' },
      });
    });

    it('has UUIDs from 2.53, hostname patterns, servers, and no usage from 2.88', async () => {
      const listed = (
        await get('/v2.1/os-hypervisors?hypervisor_hostname_pattern=ds', { version: '2.53' })
      ).hypervisors;
      expect(listed).toEqual([
        {
          id: expect.stringMatching(UUID),
          hypervisor_hostname: 'dst',
          state: 'up',
          status: 'enabled',
        },
      ]);
      const { hypervisor } = await get(`/v2.1/os-hypervisors/${listed[0].id}?with_servers=true`, {
        version: '2.88',
      });
      expect(hypervisor).toMatchObject({
        id: listed[0].id,
        service: { id: expect.stringMatching(UUID), host: 'dst' },
        uptime: null,
        servers: [v.far, v.rev, v.ver].map(({ name, uuid }) => ({ name, uuid })),
      });
      expect(hypervisor).not.toHaveProperty('vcpus');
      const missing = await api.call({
        path: '/v2.1/os-hypervisors?hypervisor_hostname_pattern=zz',
        version: '2.53',
      });
      expect(missing).toMatchObject({
        status: 404,
        body: { itemNotFound: { message: "No hypervisor matching 'zz' could be found." } },
      });
    });
  });

  describe('migrations', () => {
    it("lists migrations in Nova's fields, by microversion", async () => {
      const old = (await get('/v2.1/os-migrations', { version: '2.1' })).migrations;
      expect(old.map((row) => row.id)).toEqual([m.live.id, m.resize.id, m.failed.id, m.done.id]);
      expect(old[1]).toEqual({
        id: m.resize.id,
        instance_uuid: v.ver.uuid,
        source_compute: 'src',
        source_node: 'src',
        dest_compute: 'dst',
        dest_node: 'dst',
        dest_host: '192.0.2.2',
        old_instance_type_id: 'tiny',
        new_instance_type_id: 'small',
        status: 'finished',
        created_at: '2025-01-01T12:02:00.000000',
        updated_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/),
      });
      const current = (await get('/v2.1/os-migrations', { version: '2.80' })).migrations;
      expect(current[0]).toMatchObject({
        uuid: m.live.uuid,
        migration_type: 'live-migration',
        user_id: null,
        project_id: null,
        links: [
          { rel: 'self', href: `${base}/v2.1/servers/${v.mig.uuid}/migrations/${m.live.id}` },
          { rel: 'bookmark', href: `${base}/servers/${v.mig.uuid}/migrations/${m.live.id}` },
        ],
      });
      expect(current[3]).toMatchObject({ migration_type: 'live-migration', status: 'completed' });
      expect(current[3]).not.toHaveProperty('links');
    });

    it.each([
      ['instance_uuid', () => v.mig.uuid, () => [m.live]],
      ['status', () => 'completed', () => [m.done]],
      ['migration_type', () => 'resize', () => [m.resize]],
      ['source_compute', () => 'dst', () => []],
      ['host', () => 'dst', () => [m.live, m.resize, m.failed, m.done]],
      ['changes-since', () => '2999-01-01T00:00:00Z', () => []],
    ])('filters os-migrations by %s', async (name, value, expected) => {
      const query = `${name}=${encodeURIComponent(value())}`;
      const { migrations } = await get(`/v2.1/os-migrations?${query}`);
      expect(migrations.map((row) => row.id)).toEqual(expected().map((row) => row.id));
    });

    it('pages os-migrations by uuid from 2.59', async () => {
      const first = await get('/v2.1/os-migrations?limit=3');
      expect(first.migrations.map((row) => row.uuid)).toEqual(
        [m.live, m.resize, m.failed].map((row) => row.uuid),
      );
      const [next] = first.migrations_links as unknown as { href: string }[];
      expect(next.href).toBe(`${base}/v2.1/os-migrations?limit=3&marker=${m.failed.uuid}`);
      const rest = await get(next.href.slice(base.length));
      expect(rest.migrations.map((row) => row.uuid)).toEqual([m.done.uuid]);
    });

    it("lists and shows a server's in-progress live migration with its bytes", async () => {
      const path = `/v2.1/servers/${v.mig.uuid}/migrations`;
      const expected = {
        id: m.live.id,
        server_uuid: v.mig.uuid,
        source_compute: 'src',
        dest_compute: 'dst',
        dest_host: '192.0.2.2',
        status: 'running',
        memory_total_bytes: 1073741824,
        memory_processed_bytes: 536870912,
        memory_remaining_bytes: 536870912,
        disk_total_bytes: 0,
        disk_processed_bytes: 0,
        disk_remaining_bytes: 0,
        uuid: m.live.uuid,
      };
      expect((await get(path)).migrations).toEqual([expect.objectContaining(expected)]);
      expect((await get(`${path}/${m.live.id}`)).migration).toEqual(
        expect.objectContaining(expected),
      );
      expect((await get(`/v2.1/servers/${v.act.uuid}/migrations`)).migrations).toEqual([]);
      expect(
        await api.call({ path: `/v2.1/servers/${v.act.uuid}/migrations/${m.done.id}` }),
      ).toMatchObject({
        status: 404,
        body: {
          itemNotFound: {
            message: `Live migration ${m.done.id} for server ${v.act.uuid} is not in progress.`,
          },
        },
      });
      expect(await api.call({ path, version: '2.22' })).toMatchObject({ status: 404 });
    });
  });

  describe('actions', () => {
    /** The input the instance's workflow was started with; terminates the workflow. */
    async function startedWith(uuid: string) {
      const handle = api.client.workflow.getHandle(instanceWorkflowId(uuid));
      try {
        const description = await handle.describe();
        const history = await handle.fetchHistory();
        const payload =
          history.events?.[0].workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
        return {
          type: description.type,
          taskQueue: description.taskQueue,
          input: defaultPayloadConverter.fromPayload(payload ?? {}),
        };
      } finally {
        await api.terminate(uuid);
      }
    }

    const post = (uuid: string, body: unknown, extra: Partial<ApiRequest> = {}) =>
      api.call({ method: 'POST', path: `/v2.1/servers/${uuid}/action`, body, ...extra });

    const migrationOf = (uuid: string) =>
      api.db.migration.findMany({ where: { instanceUuid: uuid } });

    it.each([
      [
        'to a named host, block migration auto (2.79)',
        { 'os-migrateLive': { host: 'dst', block_migration: 'auto' } },
        '2.79',
        { requestedHost: 'dst', blockMigration: 'auto' },
      ],
      [
        "to the scheduler's choice, the 2.1 body",
        { 'os-migrateLive': { host: null, block_migration: 'false', disk_over_commit: false } },
        '2.1',
        { requestedHost: null, blockMigration: false },
      ],
      [
        'forced to a host (2.30; ferry checks it all the same)',
        { 'os-migrateLive': { host: 'dst', block_migration: true, force: 'yes' } },
        '2.30',
        { requestedHost: 'dst', blockMigration: true },
      ],
    ])('accepts a live migration %s', async (_what, body, version, expected) => {
      const vm = await addInstance(api.db, 'live');
      const response = await post(vm.uuid, body, { version });
      expect(response).toMatchObject({ status: 202, body: undefined });
      expect(await migrationOf(vm.uuid)).toEqual([
        expect.objectContaining({
          migrationType: 'live-migration',
          status: 'accepted',
          sourceHost: 'src',
          workflowId: instanceWorkflowId(vm.uuid),
        }),
      ]);
      expect(await startedWith(vm.uuid)).toEqual({
        type: 'liveMigration',
        taskQueue: 'ferry',
        input: expect.objectContaining({
          instanceUuid: vm.uuid,
          sourceHost: 'src',
          requestedBy: 'api:admin',
          ...expected,
        }),
      });
    });

    it.each([
      ['to a named host (2.56)', { migrate: { host: 'dst' } }, '2.56', 'dst'],
      ['before 2.56, which ignores a host', { migrate: { host: 'dst' } }, '2.55', null],
      ["to the scheduler's choice", { migrate: null }, '2.79', null],
    ])('accepts a cold migration %s', async (_what, body, version, requestedHost) => {
      const vm = await addInstance(api.db, 'cold');
      expect(await post(vm.uuid, body, { version })).toMatchObject({ status: 202 });
      expect(await migrationOf(vm.uuid)).toEqual([
        expect.objectContaining({
          migrationType: 'migration',
          status: 'pre-migrating',
          oldFlavorId: 'tiny',
          newFlavorId: 'tiny',
        }),
      ]);
      expect(await startedWith(vm.uuid)).toEqual({
        type: 'resize',
        taskQueue: 'ferry',
        input: expect.objectContaining({ migrationType: 'migration', requestedHost }),
      });
    });

    it("accepts a member's resize to a flavor named by its URL", async () => {
      const vm = await addInstance(api.db, 'grow');
      const body = { resize: { flavorRef: `${base}/flavors/small`, 'OS-DCF:diskConfig': 'AUTO' } };
      expect(await post(vm.uuid, body, { token: 'member' })).toMatchObject({ status: 202 });
      expect(await migrationOf(vm.uuid)).toEqual([
        expect.objectContaining({
          migrationType: 'resize',
          oldFlavorId: 'tiny',
          newFlavorId: 'small',
        }),
      ]);
      expect(await startedWith(vm.uuid)).toEqual({
        type: 'resize',
        taskQueue: 'ferry',
        input: expect.objectContaining({
          migrationType: 'resize',
          newFlavorId: 'small',
          newSize: { vcpus: 2, memoryMiB: 256, rootDiskGiB: 2 },
          requestedBy: 'api:member',
        }),
      });
    });
  });

  describe('Updates to workflows', () => {
    /**
     * A real worker with ferry's workflows and MOCK control steps (test/support/fake-*.ts; they
     * run as local activities, so they must answer) and no host agent: each workflow waits at its
     * first host step, where updates reach it (a resize's is the shared-storage check, which it
     * makes while `queued`, holding its fleet slot).
     */
    const taskQueue = `ferry-api-test-${randomUUID()}`;
    let connection: NativeConnection;
    let worker: Worker;
    let running: Promise<void>;
    const started: string[] = [];

    beforeAll(async () => {
      connection = await NativeConnection.connect({
        address: process.env.FERRY_TEST_TEMPORAL_ADDRESS as string,
      });
      worker = await Worker.create({
        connection,
        taskQueue,
        workflowsPath: require.resolve('../../workflows'),
        activities: {
          ...new FakeFleet('src', ['src', 'dst']).controlActivities(),
          ...new FakeResizeFleet('src', ['src', 'dst']).controlActivities(),
        },
      });
      running = worker.run();
    });

    afterAll(async () => {
      await Promise.all(started.map((uuid) => api.terminate(uuid)));
      worker?.shutdown();
      await running;
      await connection?.close();
    });

    async function startLive(vm: Ids, queue: string) {
      const input: LiveMigrationInput = {
        migrationUuid: randomUUID(),
        instanceUuid: vm.uuid,
        instanceName: vm.name,
        sourceHost: 'src',
        requestedHost: 'dst',
        blockMigration: 'auto',
        requestedBy: 'test',
      };
      started.push(vm.uuid);
      await api.client.workflow.start('liveMigration', {
        taskQueue: queue,
        workflowId: instanceWorkflowId(vm.uuid),
        args: [input],
      });
      return input;
    }

    async function startResize(vm: Ids, queue: string) {
      const size = { vcpus: 1, memoryMiB: 128, rootDiskGiB: 1 };
      const input: ResizeInput = {
        migrationUuid: randomUUID(),
        instanceUuid: vm.uuid,
        instanceName: vm.name,
        migrationType: 'resize',
        sourceHost: 'src',
        requestedHost: null,
        oldFlavorId: 'tiny',
        newFlavorId: 'small',
        oldSize: size,
        newSize: { ...size, vcpus: 2, memoryMiB: 256, rootDiskGiB: 2 },
        allowSameHost: false,
        shutdownTimeoutSeconds: 60,
        requestedBy: 'test',
      };
      started.push(vm.uuid);
      await api.client.workflow.start('resize', {
        taskQueue: queue,
        workflowId: instanceWorkflowId(vm.uuid),
        args: [input],
      });
    }

    /** A VERIFY_RESIZE instance as the database has it, with its finished Migration row. */
    async function verifying() {
      const vm = await addInstance(api.db, 'verify', { vmState: 'resized', flavorId: 'small' });
      await api.db.migration.create({
        data: {
          uuid: randomUUID(),
          instanceUuid: vm.uuid,
          migrationType: 'resize',
          status: 'finished',
          sourceHost: 'src',
          destHost: 'dst',
          oldFlavorId: 'tiny',
          newFlavorId: 'small',
          workflowId: instanceWorkflowId(vm.uuid),
        },
      });
      return vm;
    }

    it("relays the workflow's refusal of a confirm with its reason (409)", async () => {
      const vm = await verifying();
      await startResize(vm, taskQueue);
      const handle = api.client.workflow.getHandle(instanceWorkflowId(vm.uuid));
      for (;;) {
        const { status, step } = await handle.query(resizeStatusQuery);
        if (status === 'queued' && step === 'check_shared_storage') break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const response = await api.call({
        method: 'POST',
        path: `/v2.1/servers/${vm.uuid}/action`,
        body: { confirmResize: null },
        token: 'member',
      });
      expect(response).toEqual(
        expect.objectContaining({
          status: 409,
          body: {
            conflictingRequest: {
              code: 409,
              message: `Cannot 'confirmResize' instance ${vm.uuid}: cannot confirm ${vm.name}: it is not in VERIFY_RESIZE (migration queued)`,
            },
          },
        }),
      );
    });

    it("relays the workflow's refusal of an abort and a force-complete (400)", async () => {
      const vm = await addInstance(api.db, 'moving', { taskState: 'migrating' });
      const row = await api.db.migration.create({
        data: {
          uuid: randomUUID(),
          instanceUuid: vm.uuid,
          migrationType: 'live-migration',
          status: 'running',
          sourceHost: 'src',
          oldFlavorId: 'tiny',
          newFlavorId: 'tiny',
          workflowId: instanceWorkflowId(vm.uuid),
        },
      });
      const input = await startLive(vm, taskQueue);
      const path = `/v2.1/servers/${vm.uuid}/migrations/${row.id}`;
      const abort = await api.call({ method: 'DELETE', path });
      expect(abort).toMatchObject({
        status: 400,
        body: {
          badRequest: {
            message: `Migration ${row.id} state of instance ${vm.uuid} is running. Cannot abort live migration (cannot abort migration ${input.migrationUuid}: it is accepted, not queued or preparing or running) while the migration is in this state.`,
          },
        },
      });
      const force = await api.call({
        method: 'POST',
        path: `${path}/action`,
        body: { force_complete: null },
      });
      expect(force).toMatchObject({
        status: 400,
        body: { badRequest: { message: expect.stringMatching(/it is accepted, not running/) } },
      });
    });

    it(
      'answers 503 when no worker takes the Update in time',
      async () => {
        const vm = await verifying();
        await startResize(vm, `ferry-api-test-unpolled-${randomUUID()}`);
        const started = Date.now();
        const response = await api.call({
          method: 'POST',
          path: `/v2.1/servers/${vm.uuid}/action`,
          body: { revertResize: null },
        });
        expect(Date.now() - started).toBeGreaterThanOrEqual(UPDATE_DEADLINE_MS - 500);
        expect(response).toMatchObject({
          status: 503,
          body: {
            serviceUnavailable: {
              code: 503,
              message: expect.stringMatching(/did not take the request within 10 s/),
            },
          },
        });
      },
      UPDATE_DEADLINE_MS + 20_000,
    );
  });
});
