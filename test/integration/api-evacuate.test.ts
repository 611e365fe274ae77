/**
 * Nova's evacuate server action on ferry's API (docs/evacuate.md): the body by microversion, what
 * ferry refuses and why, and an accepted evacuation recorded as a Migration of type evacuation
 * with its workflow started; real SQLite and the run's Temporal server (no worker runs it here).
 */
import { addInstance, seedFleet, startApiHarness, type ApiHarness } from '../support/api-harness';

describe('the evacuate server action', () => {
  let api: ApiHarness;

  beforeAll(async () => {
    api = await startApiHarness();
    await seedFleet(api.db);
  });

  afterAll(async () => {
    await api?.close();
  });

  /** An instance on `host` with a recorded definition (unless `recorded` is false). */
  const instanceOn = async (host: string, recorded = true) => {
    const instance = await addInstance(api.db, 'evac', { hostName: host });
    if (recorded) {
      await api.db.instance.update({
        where: { uuid: instance.uuid },
        data: { domainXml: `<domain type='kvm'><uuid>${instance.uuid}</uuid></domain>` },
      });
    }
    return instance;
  };
  const evacuate = (uuid: string, body: unknown, version = '2.68', token?: 'member') =>
    api.call({
      method: 'POST',
      path: `/v2.1/servers/${uuid}/action`,
      body: { evacuate: body },
      version,
      ...(token ? { token } : {}),
    });
  const migrations = (uuid: string) => api.db.migration.count({ where: { instanceUuid: uuid } });
  const message = (body: unknown) => JSON.stringify(body);

  it('accepts an instance of a forced-down host: 200, a Migration of type evacuation, its workflow', async () => {
    const { uuid } = await instanceOn('gone');
    try {
      const response = await evacuate(uuid, { host: 'dst' });
      expect(response.status).toBe(200);
      expect(response.body).toBeUndefined();
      const listed = await api.call({
        path: '/v2.1/os-migrations?migration_type=evacuation',
        version: '2.80',
      });
      expect((listed.body as { migrations: Record<string, unknown>[] }).migrations).toEqual([
        expect.objectContaining({
          instance_uuid: uuid,
          migration_type: 'evacuation',
          status: 'accepted',
          source_compute: 'gone',
        }),
      ]);
      expect(await api.workflowRunId(uuid)).not.toBeNull();
    } finally {
      await api.terminate(uuid);
    }
  });

  it('refuses with a 409 an instance whose host is up, and records nothing', async () => {
    const { uuid } = await instanceOn('src');
    const response = await evacuate(uuid, {});
    expect(response.status).toBe(409);
    expect(message(response.body)).toMatch(
      /host src of instance .* is up: only an instance of a host that is down/,
    );
    expect(await migrations(uuid)).toBe(0);
  });

  it('refuses with a 409 an instance ferry has no recorded definition of', async () => {
    const { uuid } = await instanceOn('gone', false);
    const response = await evacuate(uuid, {});
    expect(response.status).toBe(409);
    expect(message(response.body)).toMatch(/no recorded domain definition/);
    expect(await migrations(uuid)).toBe(0);
  });

  it('refuses adminPass, onSharedStorage false and force with a 400 that says why', async () => {
    const { uuid } = await instanceOn('gone');
    const cases: [unknown, string, RegExp][] = [
      [{ adminPass: 'secret' }, '2.68', /ferry sets no passwords/],
      [{ onSharedStorage: false }, '2.1', /ferry keeps no images to rebuild an instance from/],
      [{ host: 'dst' }, '2.1', /'onSharedStorage' is a required property/],
      [{ onSharedStorage: true }, '2.14', /'onSharedStorage' was unexpected/],
      [{ host: 'dst', force: true }, '2.29', /force is not supported/],
      [{ force: false }, '2.68', /'force' was unexpected/],
      [{ host: 'off' }, '2.68', /Compute service of off is unavailable/],
    ];
    for (const [body, version, why] of cases) {
      const response = await evacuate(uuid, body, version);
      expect({ body, status: response.status, message: message(response.body) }).toEqual({
        body,
        status: 400,
        message: expect.stringMatching(why),
      });
    }
    expect(await migrations(uuid)).toBe(0);
  });

  it('is for admins only', async () => {
    const { uuid } = await instanceOn('gone');
    expect((await evacuate(uuid, {}, '2.68', 'member')).status).toBe(403);
  });
});
