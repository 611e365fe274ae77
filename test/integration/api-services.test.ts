/**
 * Nova's os-services on ferry's API (docs/host-liveness.md): each host one nova-compute service,
 * listed with its liveness and changed through the same state as `ferry hosts enable|disable|
 * force-down|force-up`; real SQLite and the run's Temporal server.
 */
import { nameUuid } from '../../api/name-uuid';
import { addInstance, seedFleet, startApiHarness, type ApiHarness } from '../support/api-harness';

type Service = Record<string, unknown>;

describe('os-services', () => {
  let api: ApiHarness;

  beforeAll(async () => {
    api = await startApiHarness();
    await seedFleet(api.db);
  });

  afterAll(async () => {
    await api?.close();
  });

  const list = async (query = '', version = '2.53') => {
    const response = await api.call({ path: `/v2.1/os-services${query}`, version });
    expect(response.status).toBe(200);
    return (response.body as { services: Service[] }).services;
  };
  const put = (id: string, body: unknown, version = '2.53') =>
    api.call({ method: 'PUT', path: `/v2.1/os-services/${id}`, body, version });
  const host = (name: string) => api.db.host.findUniqueOrThrow({ where: { name } });

  it('lists every host as a nova-compute service with its status and liveness', async () => {
    const services = await list();
    expect(services.map((s) => [s.host, s.status, s.state, s.forced_down])).toEqual([
      ['src', 'enabled', 'up', false],
      ['dst', 'enabled', 'up', false],
      ['off', 'disabled', 'up', false],
      ['gone', 'enabled', 'down', true],
    ]);
    expect(services[2]).toEqual({
      id: nameUuid('service', 'off'),
      binary: 'nova-compute',
      host: 'off',
      zone: 'nova',
      status: 'disabled',
      state: 'up',
      updated_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/),
      disabled_reason: 'maintenance',
      forced_down: false,
    });
    expect((await list('', '2.1')).map((s) => s.id)).toEqual([1, 2, 3, 4]);
    expect((await list('', '2.10'))[0]).not.toHaveProperty('forced_down');
    expect((await list('?host=dst&binary=nova-compute')).map((s) => s.host)).toEqual(['dst']);
    expect(await list('?binary=nova-scheduler')).toEqual([]);
  });

  it('is for admins only', async () => {
    const response = await api.call({ path: '/v2.1/os-services', token: 'member' });
    expect(response.status).toBe(403);
  });

  it('disables and enables a host, and forces it down and up, as the CLI does', async () => {
    const id = nameUuid('service', 'dst');
    const disabled = await put(id, { status: 'disabled', disabled_reason: 'patching' });
    expect(disabled.status).toBe(200);
    expect((disabled.body as { service: Service }).service).toMatchObject({
      id,
      host: 'dst',
      status: 'disabled',
      disabled_reason: 'patching',
    });
    expect(await host('dst')).toMatchObject({ state: 'disabled', disabledReason: 'patching' });

    const enabled = await put(id, { status: 'enabled' });
    expect((enabled.body as { service: Service }).service).toMatchObject({ status: 'enabled' });
    expect(await host('dst')).toMatchObject({ state: 'up', disabledReason: null });

    const down = await put(id, { forced_down: true });
    expect((down.body as { service: Service }).service).toMatchObject({
      state: 'down',
      forced_down: true,
    });
    expect(await host('dst')).toMatchObject({ forcedDown: true });
    // A forced-down host takes no new instance.
    const refused = await api.call({
      method: 'POST',
      path: `/v2.1/servers/${(await addInstance(api.db, 'mover')).uuid}/action`,
      body: { 'os-migrateLive': { host: 'dst', block_migration: 'auto' } },
      version: '2.30',
    });
    expect(refused.status).toBe(400);

    const up = await put(id, { forced_down: false });
    expect((up.body as { service: Service }).service).toMatchObject({
      state: 'up',
      forced_down: false,
    });
  });

  it('takes the legacy host-and-binary actions before 2.53', async () => {
    const body = { host: 'dst', binary: 'nova-compute' };
    const disabled = await put('disable-log-reason', { ...body, disabled_reason: 'bios' }, '2.1');
    expect(disabled).toMatchObject({
      status: 200,
      body: { service: { ...body, status: 'disabled', disabled_reason: 'bios' } },
    });
    const forced = await put('force-down', { ...body, forced_down: true }, '2.11');
    expect(forced.body).toEqual({ service: { ...body, forced_down: true } });
    expect(await put('enable', body, '2.1')).toMatchObject({
      status: 200,
      body: { service: { ...body, status: 'enabled' } },
    });
    await put('force-down', { ...body, forced_down: false }, '2.11');
    expect(await host('dst')).toMatchObject({ state: 'up', forcedDown: false });
  });

  it.each([
    ['an empty update', {}, 400, /No updates were requested/],
    ['a reason without disabling', { disabled_reason: 'x' }, 400, /disabled_reason/],
    ['a reason with enabling', { status: 'enabled', disabled_reason: 'x' }, 400, /only with/],
    ['an unknown status', { status: 'paused' }, 400, /status/],
    ['forced_down not a boolean', { forced_down: 'yes please' }, 400, /forced_down/],
  ])('refuses %s, naming the field', async (_what, body, status, message) => {
    const response = await put(nameUuid('service', 'src'), body);
    expect(response.status).toBe(status);
    expect(JSON.stringify(response.body)).toMatch(message);
    expect(await host('src')).toMatchObject({ state: 'up', forcedDown: false });
  });

  it.each(['reboot', 'constructor', '__proto__'])(
    'answers 404 for the legacy action %s, which Nova does not have',
    async (action) => {
      const response = await put(action, { host: 'dst', binary: 'nova-compute' }, '2.1');
      expect(response).toMatchObject({ status: 404, body: { itemNotFound: { code: 404 } } });
    },
  );

  it('answers 404 for a service that does not exist', async () => {
    const response = await put(nameUuid('service', 'nowhere'), { status: 'disabled' });
    expect(response.status).toBe(404);
    expect(JSON.stringify(response.body)).toMatch(/could not be found/);
  });

  it('refuses to enable a host while its drain runs', async () => {
    await api.db.drain.create({
      data: {
        uuid: 'drain-of-off',
        host: 'off',
        status: 'running',
        concurrency: 1,
        attempts: 3,
        workflowId: 'drain-off',
      },
    });
    const response = await put(nameUuid('service', 'off'), { status: 'enabled' });
    expect(response.status).toBe(409);
    expect(JSON.stringify(response.body)).toMatch(/drain .* running: abort it first/);
    expect(await host('off')).toMatchObject({ state: 'disabled' });
  });
});
