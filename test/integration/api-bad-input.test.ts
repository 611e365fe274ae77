/**
 * Malformed and forbidden requests to the REST API, one table: each is answered with the right
 * status, Nova's error key and a message naming the problem, and leaves the database (Migration,
 * InstanceAction, ResourceClaim rows, every instance's state) and Temporal (every instance's
 * workflow) exactly as they were. Real SQLite, real Temporal; no worker runs, none is needed.
 */
import { randomUUID } from 'node:crypto';
import { MAX_BODY_BYTES } from '../../api/body';
import { instanceWorkflowId } from '../../workflows/operation-types';
import type { LiveMigrationInput } from '../../workflows/live-migration-contract';
import {
  addInstance,
  seedFleet,
  startApiHarness,
  type ApiHarness,
  type ApiRequest,
} from '../support/api-harness';

type Ids = { uuid: string; name: string };

interface Fixture {
  active: Ids;
  stopped: Ids;
  locked: Ids;
  busy: Ids;
  wide: Ids;
  broken: Ids;
  orphan: Ids;
  reverting: Ids;
  migrating: Ids;
  running: Ids;
  contested: Ids;
  queuedMigration: number;
  completedMigration: number;
  runningMigration: number;
}

interface Case {
  what: string;
  request: (f: Fixture) => ApiRequest;
  status: number;
  fault: string;
  message: (f: Fixture) => RegExp;
}

const action = (server: keyof Fixture, body: unknown, extra: Partial<ApiRequest> = {}) => {
  return (f: Fixture): ApiRequest => ({
    method: 'POST',
    path: `/v2.1/servers/${(f[server] as Ids).uuid}/action`,
    body,
    ...extra,
  });
};
const live = (args: Record<string, unknown>) => ({ 'os-migrateLive': args });
const fixed = (pattern: RegExp) => () => pattern;
const big = 'x'.repeat(MAX_BODY_BYTES + 1);

const cases: Case[] = [
  {
    what: 'a body that is not JSON',
    request: action('active', undefined, { raw: '{"os-migrateLive": ' }),
    status: 400,
    fault: 'badRequest',
    message: fixed(/^Malformed request body: .*JSON/),
  },
  {
    what: 'a JSON array for an action',
    request: action('active', [{ migrate: null }]),
    status: 400,
    fault: 'badRequest',
    message: fixed(/Malformed request body: an action body is a JSON object/),
  },
  {
    what: 'an empty body',
    request: action('active', undefined, { raw: '' }),
    status: 400,
    fault: 'badRequest',
    message: fixed(/Malformed request body: the body is empty/),
  },
  {
    what: 'two actions in one body',
    request: action('active', { migrate: null, confirmResize: null }),
    status: 400,
    fault: 'badRequest',
    message: fixed(/exactly one key, the action \(got 2\)/),
  },
  {
    what: 'an action ferry does not have',
    request: action('active', { reboot: { type: 'HARD' } }),
    status: 400,
    fault: 'badRequest',
    message: fixed(/There is no such action: reboot/),
  },
  {
    what: 'os-migrateLive without block_migration',
    request: action('active', live({ host: 'dst' })),
    status: 400,
    fault: 'badRequest',
    message: fixed(/field\/attribute os-migrateLive\. .*'block_migration' is a required property/),
  },
  {
    what: 'os-migrateLive without host',
    request: action('active', live({ block_migration: 'auto' })),
    status: 400,
    fault: 'badRequest',
    message: fixed(/os-migrateLive\. .*'host' is a required property/),
  },
  {
    what: 'a block_migration that is neither boolean nor auto',
    request: action('active', live({ host: null, block_migration: 'sometimes' })),
    status: 400,
    fault: 'badRequest',
    message: fixed(/os-migrateLive\.block_migration\. .*"sometimes" is not a boolean or "auto"/),
  },
  {
    what: 'a host that is a number',
    request: action('active', live({ host: 42, block_migration: true })),
    status: 400,
    fault: 'badRequest',
    message: fixed(/os-migrateLive\.host\. Value: 42\. 42 is not of type 'string', 'null'/),
  },
  {
    what: 'a host name with a slash',
    request: action('active', live({ host: 'dst/../x', block_migration: true })),
    status: 400,
    fault: 'badRequest',
    message: fixed(/os-migrateLive\.host\. .*does not match/),
  },
  {
    what: 'an unknown os-migrateLive property',
    request: action('active', live({ host: null, block_migration: true, speed: 'fast' })),
    status: 400,
    fault: 'badRequest',
    message: fixed(/Additional properties are not allowed \('speed' was unexpected\)/),
  },
  {
    what: 'os-migrateLive as a string',
    request: action('active', { 'os-migrateLive': 'dst' }),
    status: 400,
    fault: 'badRequest',
    message: fixed(/os-migrateLive\. Value: "dst"\. "dst" is not of type 'object'/),
  },
  {
    what: 'block_migration auto before 2.25',
    request: action(
      'active',
      live({ host: null, block_migration: 'auto', disk_over_commit: false }),
      {
        version: '2.24',
      },
    ),
    status: 400,
    fault: 'badRequest',
    message: fixed(/os-migrateLive\.block_migration\. .*"auto" is not a boolean/),
  },
  {
    what: 'no disk_over_commit at 2.1',
    request: action('active', live({ host: null, block_migration: false }), { version: '2.1' }),
    status: 400,
    fault: 'badRequest',
    message: fixed(/'disk_over_commit' is a required property/),
  },
  {
    what: 'force without a host (2.30)',
    request: action('active', live({ host: null, block_migration: 'auto', force: true }), {
      version: '2.30',
    }),
    status: 400,
    fault: 'badRequest',
    message: fixed(/Can't force to a non-provided destination/),
  },
  {
    what: 'force after 2.68 removed it',
    request: action('active', live({ host: 'dst', block_migration: 'auto', force: true })),
    status: 400,
    fault: 'badRequest',
    message: fixed(/'force' was unexpected/),
  },
  {
    what: 'an unknown instance',
    request: (f) => ({
      ...action('active', live({ host: null, block_migration: 'auto' }))(f),
      path: `/v2.1/servers/${f.active.uuid.replace(/^.{8}/, '00000000')}/action`,
    }),
    status: 404,
    fault: 'itemNotFound',
    message: (f) =>
      new RegExp(`Instance ${f.active.uuid.replace(/^.{8}/, '00000000')} could not be found`),
  },
  {
    what: 'an instance named instead of its UUID',
    request: (f) => ({
      ...action('active', live({ host: null, block_migration: 'auto' }))(f),
      path: `/v2.1/servers/${f.active.name}/action`,
    }),
    status: 404,
    fault: 'itemNotFound',
    message: (f) => new RegExp(`Instance ${f.active.name} could not be found`),
  },
  {
    what: 'an unknown destination host',
    request: action('active', live({ host: 'nowhere', block_migration: 'auto' })),
    status: 400,
    fault: 'badRequest',
    message: fixed(/compute host nowhere could not be found/),
  },
  {
    what: 'a live migration to its own host',
    request: action('active', live({ host: 'src', block_migration: 'auto' })),
    status: 400,
    fault: 'badRequest',
    message: fixed(/to its own host src/),
  },
  {
    what: 'a live migration to a disabled host',
    request: action('active', live({ host: 'off', block_migration: 'auto' })),
    status: 400,
    fault: 'badRequest',
    message: fixed(/Compute service of off is unavailable at this time \(disabled: maintenance\)/),
  },
  {
    what: 'a live migration to a host that is down',
    request: action('active', live({ host: 'gone', block_migration: 'auto' })),
    status: 400,
    fault: 'badRequest',
    message: fixed(/Compute service of gone is unavailable at this time \(forced down\)/),
  },
  {
    what: 'a live migration of a stopped instance',
    request: action('stopped', live({ host: null, block_migration: 'auto' })),
    status: 409,
    fault: 'conflictingRequest',
    message: fixed(/live migration needs an active, running instance/),
  },
  {
    what: 'a live migration of a locked instance',
    request: action('locked', live({ host: null, block_migration: 'auto' })),
    status: 409,
    fault: 'conflictingRequest',
    message: (f) => new RegExp(`instance ${f.locked.name} is locked`),
  },
  {
    what: 'a live migration of an instance in another operation',
    request: action('busy', live({ host: null, block_migration: 'auto' })),
    status: 409,
    fault: 'conflictingRequest',
    message: fixed(/task_state resize_prep: another operation is in progress/),
  },
  {
    what: 'a live migration while a workflow of the instance runs (concurrent request)',
    request: action('contested', live({ host: 'dst', block_migration: 'auto' })),
    status: 409,
    fault: 'conflictingRequest',
    message: fixed(/has an operation in progress \(workflow instance-/),
  },
  {
    what: 'a live migration asked by a member',
    request: action('active', live({ host: null, block_migration: 'auto' }), { token: 'member' }),
    status: 403,
    fault: 'forbidden',
    message: fixed(/Policy doesn't allow os_compute_api:os-migrate-server:migrate_live/),
  },
  {
    what: 'a request without a token',
    request: action('active', live({ host: null, block_migration: 'auto' }), { token: 'none' }),
    status: 401,
    fault: 'unauthorized',
    message: fixed(/requires authentication: send X-Auth-Token/),
  },
  {
    what: 'a request with an unknown token',
    request: action('active', { migrate: null }, { token: { raw: 'not-a-ferry-token-at-all' } }),
    status: 401,
    fault: 'unauthorized',
    message: fixed(/X-Auth-Token is not valid/),
  },
  {
    what: 'a cold migration asked by a member',
    request: action('active', { migrate: null }, { token: 'member' }),
    status: 403,
    fault: 'forbidden',
    message: fixed(/os_compute_api:os-migrate-server:migrate to be performed/),
  },
  {
    what: 'a cold migration to a host that is a number',
    request: action('active', { migrate: { host: 7 } }),
    status: 400,
    fault: 'badRequest',
    message: fixed(/migrate\.host\. Value: 7/),
  },
  {
    what: 'a cold migration with a flavor',
    request: action('active', { migrate: { host: 'dst', flavor: 'big' } }),
    status: 400,
    fault: 'badRequest',
    message: fixed(/field\/attribute migrate\. .*'flavor' was unexpected/),
  },
  {
    what: 'a cold migration to its own host',
    request: action('active', { migrate: { host: 'src' } }),
    status: 400,
    fault: 'badRequest',
    message: fixed(/to its own host src \(allow_resize_to_same_host is off\)/),
  },
  {
    what: 'a cold migration to a disabled host',
    request: action('active', { migrate: { host: 'off' } }),
    status: 400,
    fault: 'badRequest',
    message: fixed(/Compute service of off is unavailable/),
  },
  {
    what: 'a resize without flavorRef',
    request: action('active', { resize: { flavor: 'small' } }),
    status: 400,
    fault: 'badRequest',
    message: fixed(/field\/attribute resize\. .*'flavorRef' is a required property/),
  },
  {
    what: 'a resize with an empty flavorRef',
    request: action('active', { resize: { flavorRef: '' } }, { token: 'member' }),
    status: 400,
    fault: 'badRequest',
    message: fixed(/resize\.flavorRef\. Value: ""\. "" is not a flavor id/),
  },
  {
    what: 'a resize with a boolean flavorRef',
    request: action('active', { resize: { flavorRef: true } }),
    status: 400,
    fault: 'badRequest',
    message: fixed(/resize\.flavorRef\. Value: true/),
  },
  {
    what: 'a resize to an unknown flavor',
    request: action('active', { resize: { flavorRef: 'huge' } }, { token: 'member' }),
    status: 400,
    fault: 'badRequest',
    message: fixed(/flavor huge could not be found/),
  },
  {
    what: 'a resize to the same flavor',
    request: action('active', { resize: { flavorRef: 'tiny' } }),
    status: 400,
    fault: 'badRequest',
    message: fixed(/already has flavor tiny: a resize needs another flavor/),
  },
  {
    what: 'a resize to a disabled flavor',
    request: action('active', { resize: { flavorRef: 'old' } }),
    status: 400,
    fault: 'badRequest',
    message: fixed(/flavor old is disabled/),
  },
  {
    what: 'a resize that would shrink the disk',
    request: action('wide', { resize: { flavorRef: 'tiny' } }),
    status: 400,
    fault: 'badRequest',
    message: fixed(/disks cannot shrink/),
  },
  {
    what: 'a resize of an instance in ERROR',
    request: action('broken', { resize: { flavorRef: 'small' } }, { token: 'member' }),
    status: 409,
    fault: 'conflictingRequest',
    message: fixed(/is error\/running: resize needs an active instance/),
  },
  {
    what: 'confirmResize of an active instance',
    request: action('active', { confirmResize: null }, { token: 'member' }),
    status: 409,
    fault: 'conflictingRequest',
    message: (f) =>
      new RegExp(`Cannot 'confirmResize' instance ${f.active.uuid} while it is in vm_state active`),
  },
  {
    what: 'revertResize of an active instance',
    request: action('active', { revertResize: null }),
    status: 409,
    fault: 'conflictingRequest',
    message: fixed(/Cannot 'revertResize' instance .* while it is in vm_state active/),
  },
  {
    what: 'confirmResize while a revert runs',
    request: action('reverting', { confirmResize: null }),
    status: 409,
    fault: 'conflictingRequest',
    message: fixed(/while it is in task_state resize_reverting/),
  },
  {
    what: 'confirmResize with a value',
    request: action('orphan', { confirmResize: { now: true } }),
    status: 400,
    fault: 'badRequest',
    message: fixed(/confirmResize\. .*is not of type 'null'/),
  },
  {
    what: 'confirmResize of a resized instance with no finished migration',
    request: action('orphan', { confirmResize: null }),
    status: 400,
    fault: 'badRequest',
    message: fixed(/Instance has not been resized/),
  },
  {
    what: 'a body over the limit (Content-Length)',
    request: action('active', undefined, { raw: big }),
    status: 413,
    fault: 'HTTPRequestEntityTooLarge',
    message: fixed(new RegExp(`at most ${MAX_BODY_BYTES} bytes`)),
  },
  {
    what: 'a body over the limit (chunked)',
    request: action('active', undefined, { raw: big, chunked: true }),
    status: 413,
    fault: 'HTTPRequestEntityTooLarge',
    message: fixed(/Request is too large/),
  },
  {
    what: 'a body that is not JSON by its Content-Type',
    request: action('active', undefined, {
      raw: 'migrate',
      headers: { 'Content-Type': 'text/plain' },
    }),
    status: 415,
    fault: 'badMediaType',
    message: fixed(/Unsupported Content-Type text\/plain/),
  },
  {
    what: 'an unknown path',
    request: () => ({ path: '/v2.1/os-widgets' }),
    status: 404,
    fault: 'itemNotFound',
    message: fixed(/The resource could not be found/),
  },
  {
    what: 'a path outside /v2.1',
    request: () => ({ path: '/v2/servers' }),
    status: 404,
    fault: 'itemNotFound',
    message: fixed(/The resource could not be found/),
  },
  {
    what: 'the wrong method',
    request: (f) => ({
      method: 'PUT',
      path: `/v2.1/servers/${f.active.uuid}/action`,
      body: { migrate: null },
    }),
    status: 405,
    fault: 'badMethod',
    message: fixed(/The method specified is not allowed/),
  },
  {
    what: 'a microversion above 2.95',
    request: action('active', { migrate: null }, { version: '2.96' }),
    status: 406,
    fault: 'computeFault',
    message: fixed(/Version 2.96 is not supported by the API. Minimum is 2.1 and maximum is 2.95/),
  },
  {
    what: 'a malformed microversion',
    request: action('active', { migrate: null }, { version: '2.x' }),
    status: 400,
    fault: 'badRequest',
    message: fixed(/API Version String 2.x is of invalid format/),
  },
  {
    what: 'an abort of an unknown migration',
    request: (f) => ({
      method: 'DELETE',
      path: `/v2.1/servers/${f.migrating.uuid}/migrations/999999`,
    }),
    status: 404,
    fault: 'itemNotFound',
    message: (f) => new RegExp(`Migration 999999 not found for instance ${f.migrating.uuid}`),
  },
  {
    what: "an abort of another instance's migration",
    request: (f) => ({
      method: 'DELETE',
      path: `/v2.1/servers/${f.migrating.uuid}/migrations/${f.runningMigration}`,
    }),
    status: 404,
    fault: 'itemNotFound',
    message: (f) => new RegExp(`Migration ${f.runningMigration} not found for instance`),
  },
  {
    what: 'an abort asked by a member',
    request: (f) => ({
      method: 'DELETE',
      path: `/v2.1/servers/${f.running.uuid}/migrations/${f.runningMigration}`,
      token: 'member',
    }),
    status: 403,
    fault: 'forbidden',
    message: fixed(/os_compute_api:servers:migrations:delete/),
  },
  {
    what: 'an abort below microversion 2.24',
    request: (f) => ({
      method: 'DELETE',
      path: `/v2.1/servers/${f.running.uuid}/migrations/${f.runningMigration}`,
      version: '2.23',
    }),
    status: 404,
    fault: 'itemNotFound',
    message: fixed(/needs microversion 2.24 or later/),
  },
  {
    what: 'an abort for an instance that is not migrating',
    request: (f) => ({ method: 'DELETE', path: `/v2.1/servers/${f.active.uuid}/migrations/1` }),
    status: 409,
    fault: 'conflictingRequest',
    message: fixed(/Cannot 'abort live migration' instance .* while it is in task_state None/),
  },
  {
    what: 'an abort of a queued migration before 2.65',
    request: (f) => ({
      method: 'DELETE',
      path: `/v2.1/servers/${f.migrating.uuid}/migrations/${f.queuedMigration}`,
      version: '2.64',
    }),
    status: 409,
    fault: 'conflictingRequest',
    message: fixed(/with status queued requires a microversion of 2.65 or later/),
  },
  {
    what: 'an abort of a completed migration',
    request: (f) => ({
      method: 'DELETE',
      path: `/v2.1/servers/${f.migrating.uuid}/migrations/${f.completedMigration}`,
    }),
    status: 400,
    fault: 'badRequest',
    message: fixed(
      /is completed. Cannot abort live migration while the migration is in this state/,
    ),
  },
  {
    what: 'a force_complete of a queued migration',
    request: (f) => ({
      method: 'POST',
      path: `/v2.1/servers/${f.migrating.uuid}/migrations/${f.queuedMigration}/action`,
      body: { force_complete: null },
    }),
    status: 400,
    fault: 'badRequest',
    message: fixed(/is queued. Cannot force complete while the migration is in this state/),
  },
  {
    what: 'a force_complete with a value',
    request: (f) => ({
      method: 'POST',
      path: `/v2.1/servers/${f.running.uuid}/migrations/${f.runningMigration}/action`,
      body: { force_complete: {} },
    }),
    status: 400,
    fault: 'badRequest',
    message: fixed(/force_complete\. Value: \{\}\. \{\} is not of type 'null'/),
  },
  {
    what: 'an unknown migration action',
    request: (f) => ({
      method: 'POST',
      path: `/v2.1/servers/${f.running.uuid}/migrations/${f.runningMigration}/action`,
      body: { pause: null },
    }),
    status: 400,
    fault: 'badRequest',
    message: fixed(/There is no such action: pause/),
  },
  {
    what: 'a force_complete for an instance that is not migrating',
    request: (f) => ({
      method: 'POST',
      path: `/v2.1/servers/${f.active.uuid}/migrations/1/action`,
      body: { force_complete: null },
    }),
    status: 409,
    fault: 'conflictingRequest',
    message: fixed(/Cannot 'force_complete' instance .* task_state None/),
  },
  {
    what: 'hypervisors listed by a member',
    request: () => ({ path: '/v2.1/os-hypervisors/detail', token: 'member' }),
    status: 403,
    fault: 'forbidden',
    message: fixed(/os_compute_api:os-hypervisors:list-detail/),
  },
  {
    what: 'migrations listed by a member',
    request: () => ({ path: '/v2.1/os-migrations', token: 'member' }),
    status: 403,
    fault: 'forbidden',
    message: fixed(/os_compute_api:os-migrations:index/),
  },
  {
    what: 'an unknown migration_type filter',
    request: () => ({ path: '/v2.1/os-migrations?migration_type=teleport' }),
    status: 400,
    fault: 'badRequest',
    message: fixed(/query parameters migration_type\. Value: teleport/),
  },
  {
    what: 'a negative limit',
    request: () => ({ path: '/v2.1/os-migrations?limit=-1' }),
    status: 400,
    fault: 'badRequest',
    message: fixed(/query parameters limit\. Value: -1/),
  },
  {
    what: 'a marker that names no server',
    request: () => ({ path: '/v2.1/servers?marker=nope' }),
    status: 400,
    fault: 'badRequest',
    message: fixed(/marker \[nope\] not found/),
  },
  {
    what: 'an unknown server',
    request: () => ({
      path: '/v2.1/servers/8f0e4a3e-0000-4000-8000-000000000000',
      token: 'member',
    }),
    status: 404,
    fault: 'itemNotFound',
    message: fixed(/Instance 8f0e4a3e-0000-4000-8000-000000000000 could not be found/),
  },
  {
    what: 'an unknown flavor',
    request: () => ({ path: '/v2.1/flavors/huge' }),
    status: 404,
    fault: 'itemNotFound',
    message: fixed(/Flavor huge could not be found/),
  },
];

describe('the REST API refuses bad requests and changes nothing', () => {
  let api: ApiHarness;
  let f: Fixture;
  const blockingQueue = `ferry-api-test-${randomUUID()}`;

  beforeAll(async () => {
    api = await startApiHarness();
    const { db } = api;
    await seedFleet(db);
    const instances = {
      active: await addInstance(db, 'active'),
      stopped: await addInstance(db, 'stopped', { powerState: 'shutdown' }),
      locked: await addInstance(db, 'locked', { locked: true }),
      busy: await addInstance(db, 'busy', { taskState: 'resize_prep' }),
      wide: await addInstance(db, 'wide', { flavorId: 'small' }),
      broken: await addInstance(db, 'broken', { vmState: 'error' }),
      orphan: await addInstance(db, 'orphan', { vmState: 'resized', flavorId: 'small' }),
      reverting: await addInstance(db, 'reverting', {
        vmState: 'resized',
        taskState: 'resize_reverting',
        flavorId: 'small',
      }),
      migrating: await addInstance(db, 'migrating', { taskState: 'migrating' }),
      running: await addInstance(db, 'running', { taskState: 'migrating' }),
      contested: await addInstance(db, 'contested'),
    };
    const migration = async (instance: Ids, status: string) =>
      (
        await db.migration.create({
          data: {
            uuid: randomUUID(),
            instanceUuid: instance.uuid,
            migrationType: 'live-migration',
            status,
            sourceHost: 'src',
            destHost: 'dst',
            oldFlavorId: 'tiny',
            newFlavorId: 'tiny',
            workflowId: instanceWorkflowId(instance.uuid),
          },
        })
      ).id;
    f = {
      ...instances,
      completedMigration: await migration(instances.migrating, 'completed'),
      queuedMigration: await migration(instances.migrating, 'queued'),
      runningMigration: await migration(instances.running, 'running'),
    };
    // An operation of `contested` that Temporal knows and the database does not yet: what a
    // second request racing the first meets. Nothing polls its queue.
    const input: LiveMigrationInput = {
      migrationUuid: randomUUID(),
      instanceUuid: f.contested.uuid,
      instanceName: f.contested.name,
      sourceHost: 'src',
      requestedHost: null,
      blockMigration: 'auto',
      requestedBy: 'test',
    };
    await api.client.workflow.start('liveMigration', {
      taskQueue: blockingQueue,
      workflowId: instanceWorkflowId(f.contested.uuid),
      args: [input],
    });
  });

  afterAll(async () => {
    if (f) await api.terminate(f.contested.uuid);
    await api?.close();
  });

  /** Everything a request could change: rows, instance states, workflows. */
  async function snapshot() {
    const { db } = api;
    const instances = await db.instance.findMany({
      orderBy: { uuid: 'asc' },
      select: {
        uuid: true,
        hostName: true,
        flavorId: true,
        vmState: true,
        taskState: true,
        powerState: true,
        locked: true,
      },
    });
    return {
      instances,
      migrations: await db.migration.findMany({ orderBy: { id: 'asc' } }),
      actions: await db.instanceAction.findMany({
        orderBy: { id: 'asc' },
        include: { events: true },
      }),
      claims: await db.resourceClaim.findMany({ orderBy: { id: 'asc' } }),
      workflows: await Promise.all(instances.map(({ uuid }) => api.workflowRunId(uuid))),
    };
  }

  it('has at least 40 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  it.each(cases.map((c) => [c.what, c] as const))('refuses %s', async (_what, c) => {
    const before = await snapshot();
    const response = await api.call(c.request(f));
    expect({ status: response.status, body: response.body }).toEqual({
      status: c.status,
      body: { [c.fault]: { code: c.status, message: expect.stringMatching(c.message(f)) } },
    });
    expect(await snapshot()).toEqual(before);
  });
});
