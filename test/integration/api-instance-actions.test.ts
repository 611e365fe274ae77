/**
 * Nova's os-instance-actions in the REST API, on real SQLite and PostgreSQL: the actions and events
 * are recorded by ferry's own control activities, as the operations' workflows call them (three live
 * migrations of one server: completed, failed, still running), then listed and shown per
 * microversion and role, paged, filtered by time, and refused with Nova's 400s and 404s.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createControlActivities } from '../../activities/control';
import { loadConfig } from '../../config';
import type { MigrationResult } from '../../workflows/live-migration-contract';
import { instanceWorkflowId } from '../../workflows/operation-types';
import {
  addInstance,
  seedFleet,
  startApiHarness,
  type ApiHarness,
  type ApiRequest,
} from '../support/api-harness';

type Item = Record<string, unknown>;
type Ids = { uuid: string; name: string };

const ACTION_KEYS = [
  'action',
  'instance_uuid',
  'message',
  'project_id',
  'request_id',
  'start_time',
  'user_id',
];
const NOVA_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/;
const FAILURE = 'libvirt: migration failed: connection reset by peer';

const RESULT: MigrationResult = {
  attached: false,
  elapsedMs: 1200,
  downtimeMs: 30,
  forced: null,
  progress: {
    memoryTotalBytes: 2 ** 30,
    memoryProcessedBytes: 2 ** 30,
    memoryRemainingBytes: 0,
    diskTotalBytes: 0,
    diskProcessedBytes: 0,
    diskRemainingBytes: 0,
    percent: 100,
    postCopy: false,
  },
};

/** Waits until the clock has left `time`'s millisecond, so what happens next is later than it. */
async function clockPast(time: Date): Promise<void> {
  while (Date.now() <= time.getTime()) await sleep(1);
}

describe.each(['sqlite', 'postgresql'] as const)(
  'instance actions in the REST API on %s',
  (provider) => {
    let api: ApiHarness;
    let base: string;
    let server: Ids;
    let quiet: Ids;
    /** The request ids of the three live migrations of `server`, oldest first. */
    const ops = {} as Record<'completed' | 'failed' | 'running', string>;

    const call = (path: string, extra: Partial<ApiRequest> = {}) => api.call({ path, ...extra });
    const get = async (path: string, extra: Partial<ApiRequest> = {}) => {
      const response = await call(path, extra);
      expect(response.status).toBe(200);
      return response.body as Record<string, Item[] & Item>;
    };
    const listPath = (query = '') => `/v2.1/servers/${server.uuid}/os-instance-actions${query}`;
    const showPath = (requestId: string) => `${listPath()}/${requestId}`;
    const requestIds = (items: Item[]) => items.map((item) => item.request_id);

    /**
     * One live migration of `server` as its workflow records it through the control activities:
     * begun, each step an event (start, then finish with its result), ended as completed, failed
     * at compute_live_migration, or left running in that step.
     */
    async function liveMigrate(
      from: string,
      to: string,
      end: 'completed' | 'failed' | 'running',
    ): Promise<string> {
      const control = createControlActivities(api.db, loadConfig({}));
      const migrationUuid = randomUUID();
      await api.db.migration.create({
        data: {
          uuid: migrationUuid,
          instanceUuid: server.uuid,
          migrationType: 'live-migration',
          status: 'accepted',
          sourceHost: from,
          oldFlavorId: 'tiny',
          newFlavorId: 'tiny',
          workflowId: instanceWorkflowId(server.uuid),
        },
      });
      await control.beginInstanceOperation({
        migrationUuid,
        taskState: 'migrating',
        action: 'live-migration',
        requestedBy: 'api:admin',
      });
      const step = async (event: string, failure?: string) => {
        await control.recordActionEvent({ migrationUuid, event, phase: 'start' });
        await control.recordActionEvent({
          migrationUuid,
          event,
          phase: 'finish',
          ...(failure === undefined
            ? { result: 'Success' }
            : { result: 'Error', details: failure }),
        });
      };
      await step('compute_check_can_live_migrate_source');
      await step(`compute_check_can_live_migrate_destination:${to}`);
      await control.setMigrationStatus({ migrationUuid, status: 'preparing', destHost: to });
      await step('compute_pre_live_migration');
      await control.setMigrationStatus({ migrationUuid, status: 'running' });
      if (end === 'running') {
        await control.recordActionEvent({
          migrationUuid,
          event: 'compute_live_migration',
          phase: 'start',
        });
      } else if (end === 'failed') {
        await step('compute_live_migration', FAILURE);
        await control.failMigration({
          migrationUuid,
          status: 'error',
          error: FAILURE,
          instanceError: false,
        });
      } else {
        await step('compute_live_migration');
        await step('compute_post_live_migration');
        await control.completeLiveMigration({ migrationUuid, destHost: to, result: RESULT });
      }
      const action = await api.db.instanceAction.findUniqueOrThrow({
        where: { requestId: migrationUuid },
        include: { events: true },
      });
      const times = [action.startTime, action.finishTime].concat(
        action.events.flatMap((event) => [event.startTime, event.finishTime]),
      );
      await clockPast(new Date(Math.max(...times.map((time) => time?.getTime() ?? 0))));
      return migrationUuid;
    }

    beforeAll(async () => {
      api = await startApiHarness(provider);
      base = `http://127.0.0.1:${api.port}`;
      await seedFleet(api.db);
      server = await addInstance(api.db, 'moved');
      quiet = await addInstance(api.db, 'quiet');
      ops.completed = await liveMigrate('src', 'dst', 'completed');
      ops.failed = await liveMigrate('dst', 'src', 'failed');
      ops.running = await liveMigrate('dst', 'src', 'running');
    });

    afterAll(async () => {
      await api?.close();
    });

    describe('the list', () => {
      it("shows the server's actions newest first with Nova's keys below 2.58, and ignores paging there", async () => {
        const { instanceActions } = await get(listPath('?limit=1&changes-since=2999-01-01'), {
          version: '2.57',
        });
        expect(requestIds(instanceActions)).toEqual([ops.running, ops.failed, ops.completed]);
        for (const action of instanceActions) {
          expect(Object.keys(action).sort()).toEqual(ACTION_KEYS);
          expect(action).toMatchObject({
            action: 'live-migration',
            instance_uuid: server.uuid,
            project_id: null,
            user_id: 'api:admin',
            start_time: expect.stringMatching(NOVA_TIME),
          });
        }
        expect(instanceActions.map((action) => action.message)).toEqual([null, FAILURE, null]);
        const [running, failed, completed] = instanceActions.map((a) => a.start_time as string);
        expect(running > failed && failed > completed).toBe(true);
      });

      it('adds updated_at from 2.58: when the action or one of its events last started or finished', async () => {
        const { instanceActions, links } = await get(listPath(), { version: '2.58' });
        expect(links).toBeUndefined();
        expect(Object.keys(instanceActions[0]).sort()).toEqual(
          [...ACTION_KEYS, 'updated_at'].sort(),
        );
        for (const item of instanceActions) {
          const row = await api.db.instanceAction.findUniqueOrThrow({
            where: { requestId: item.request_id as string },
            include: { events: { where: { event: 'compute_live_migration' } } },
          });
          const [live] = row.events;
          // A finished action was last changed by its finish; the running one by its running step.
          const last = row.finishTime ?? live.startTime;
          expect(item.updated_at).toBe(`${last.toISOString().slice(0, 23)}000`);
        }
      });

      it('pages by limit and marker (a request id), with a next link while more follow', async () => {
        const first = await get(listPath('?limit=2'), { version: '2.58' });
        expect(requestIds(first.instanceActions)).toEqual([ops.running, ops.failed]);
        expect(first.links).toEqual([
          {
            rel: 'next',
            href: `${base}/v2.1/servers/${server.uuid}/os-instance-actions?limit=2&marker=${ops.failed}`,
          },
        ]);
        const next = (first.links as unknown as { href: string }[])[0].href.slice(base.length);
        const second = await get(next, { version: '2.58' });
        expect(requestIds(second.instanceActions)).toEqual([ops.completed]);
        expect(second.links).toBeUndefined();
        const whole = await get(listPath('?limit=3'), { version: '2.58' });
        expect(requestIds(whole.instanceActions)).toHaveLength(3);
        expect(whole.links).toBeUndefined();
        const none = await get(listPath('?limit=0'), { version: '2.58' });
        expect(none.instanceActions).toEqual([]);
        const last = await get(listPath(`?marker=${ops.completed}`), { version: '2.58' });
        expect(last.instanceActions).toEqual([]);
      });

      it('filters by changes-since (2.58) and changes-before (2.66), both inclusive', async () => {
        const listed = await get(listPath(), { version: '2.66' });
        const updated = new Map(
          listed.instanceActions.map((item) => [item.request_id, item.updated_at as string]),
        );
        const middle = updated.get(ops.failed) as string;
        const since = await get(listPath(`?changes-since=${middle}`), { version: '2.58' });
        expect(requestIds(since.instanceActions)).toEqual([ops.running, ops.failed]);
        const before = await get(listPath(`?changes-before=${middle}`), { version: '2.66' });
        expect(requestIds(before.instanceActions)).toEqual([ops.failed, ops.completed]);
        const both = await get(listPath(`?changes-since=${middle}&changes-before=${middle}`), {
          version: '2.66',
        });
        expect(requestIds(both.instanceActions)).toEqual([ops.failed]);
        // The same instant with a zone: Nova's times are UTC, and so is a time without a zone.
        const instant = new Date(`${middle}Z`).getTime() + 2 * 3600_000;
        const zoned = `${new Date(instant).toISOString().slice(0, 23)}+02:00`;
        const sinceZoned = await get(listPath(`?changes-since=${encodeURIComponent(zoned)}`), {
          version: '2.58',
        });
        expect(requestIds(sinceZoned.instanceActions)).toEqual([ops.running, ops.failed]);
        const paged = await get(listPath(`?changes-before=${middle}&limit=1`), { version: '2.66' });
        expect(requestIds(paged.instanceActions)).toEqual([ops.failed]);
        const rest = await get(listPath(`?changes-before=${middle}&limit=1&marker=${ops.failed}`), {
          version: '2.66',
        });
        expect(requestIds(rest.instanceActions)).toEqual([ops.completed]);
        // The marker is found among all the server's actions, even one the filter leaves out.
        const afterRunning = await get(
          listPath(`?changes-before=${middle}&marker=${ops.running}`),
          {
            version: '2.66',
          },
        );
        expect(requestIds(afterRunning.instanceActions)).toEqual([ops.failed, ops.completed]);
      });

      it('lists nothing for a server without actions, to a member as well', async () => {
        const { instanceActions } = await get(`/v2.1/servers/${quiet.uuid}/os-instance-actions`, {
          token: 'member',
        });
        expect(instanceActions).toEqual([]);
        const member = await get(listPath(), { token: 'member', version: '2.58' });
        expect(requestIds(member.instanceActions)).toEqual([
          ops.running,
          ops.failed,
          ops.completed,
        ]);
      });
    });

    describe('one action', () => {
      const eventNames = (action: Item) => (action.events as Item[]).map((event) => event.event);

      it('shows an admin the events newest first with traceback, and only those keys, at 2.1', async () => {
        const { instanceAction } = await get(showPath(ops.failed), { version: '2.1' });
        expect(Object.keys(instanceAction).sort()).toEqual([...ACTION_KEYS, 'events'].sort());
        expect(instanceAction).toMatchObject({
          action: 'live-migration',
          request_id: ops.failed,
          message: FAILURE,
          user_id: 'api:admin',
        });
        expect(eventNames(instanceAction)).toEqual([
          'compute_live_migration',
          'compute_pre_live_migration',
          'compute_check_can_live_migrate_destination:src',
          'compute_check_can_live_migrate_source',
        ]);
        const [failedStep, ...earlier] = instanceAction.events as Item[];
        expect(Object.keys(failedStep).sort()).toEqual(
          ['event', 'finish_time', 'result', 'start_time', 'traceback'].sort(),
        );
        expect(failedStep).toMatchObject({
          result: 'Error',
          traceback: FAILURE,
          start_time: expect.stringMatching(NOVA_TIME),
          finish_time: expect.stringMatching(NOVA_TIME),
        });
        for (const step of earlier)
          expect(step).toMatchObject({ result: 'Success', traceback: null });
      });

      it('shows an unfinished step without finish time or result', async () => {
        const { instanceAction } = await get(showPath(ops.running), { version: '2.58' });
        expect(instanceAction.updated_at).toEqual(expect.stringMatching(NOVA_TIME));
        expect((instanceAction.events as Item[])[0]).toMatchObject({
          event: 'compute_live_migration',
          finish_time: null,
          result: null,
        });
      });

      it('shows a member no events below 2.51, and no traceback from 2.51', async () => {
        const old = await get(showPath(ops.failed), { version: '2.50', token: 'member' });
        expect(Object.keys(old.instanceAction).sort()).toEqual(ACTION_KEYS);
        const { instanceAction } = await get(showPath(ops.failed), {
          version: '2.51',
          token: 'member',
        });
        expect(eventNames(instanceAction)).toHaveLength(4);
        for (const event of instanceAction.events as Item[]) {
          expect(Object.keys(event).sort()).toEqual([
            'event',
            'finish_time',
            'result',
            'start_time',
          ]);
        }
      });

      it("gives hostId to everyone and the host to admins from 2.62: the step's host", async () => {
        const { instanceAction } = await get(showPath(ops.completed), { version: '2.62' });
        const hosts = (instanceAction.events as Item[]).map((event) => [event.event, event.host]);
        expect(hosts).toEqual([
          ['compute_post_live_migration', 'src'],
          ['compute_live_migration', 'src'],
          ['compute_pre_live_migration', 'dst'],
          ['compute_check_can_live_migrate_destination:dst', 'dst'],
          ['compute_check_can_live_migrate_source', 'src'],
        ]);
        // The server is on dst (the failed migration left it there, the running one has not moved
        // it yet): an event on dst has the server's own hostId, one on src does not.
        const { server: shown } = await get(`/v2.1/servers/${server.uuid}`, { version: '2.62' });
        const onSource = (instanceAction.events as Item[])[0];
        expect(shown['OS-EXT-SRV-ATTR:host']).toBe('dst');
        expect(onSource.hostId).not.toBe(shown.hostId);
        const onDest = (instanceAction.events as Item[])[2];
        expect(onDest.hostId).toBe(shown.hostId);
        expect(onDest).not.toHaveProperty('details');
        const member = await get(showPath(ops.completed), { version: '2.62', token: 'member' });
        for (const event of member.instanceAction.events as Item[]) {
          expect(Object.keys(event).sort()).toEqual(
            ['event', 'finish_time', 'hostId', 'result', 'start_time'].sort(),
          );
        }
        expect((member.instanceAction.events as Item[])[2].hostId).toBe(shown.hostId);
      });

      it('adds details for admins from 2.84', async () => {
        const { instanceAction } = await get(showPath(ops.failed), { version: '2.84' });
        expect((instanceAction.events as Item[]).map((event) => event.details)).toEqual([
          FAILURE,
          null,
          null,
          null,
        ]);
        const member = await get(showPath(ops.failed), { version: '2.84', token: 'member' });
        for (const event of member.instanceAction.events as Item[]) {
          expect(event).not.toHaveProperty('details');
          expect(event).not.toHaveProperty('traceback');
          expect(event).not.toHaveProperty('host');
        }
      });
    });

    describe('refusals', () => {
      const refused = async (
        path: string,
        version: string,
        status: number,
        fault: string,
        message: string | RegExp,
      ) => {
        const response = await call(path, { version });
        expect({ status: response.status, body: response.body }).toEqual({
          status,
          body: {
            [fault]: {
              code: status,
              message: typeof message === 'string' ? message : expect.stringMatching(message),
            },
          },
        });
      };

      it('answers 404 for a server that does not exist and a request id it does not have', async () => {
        const nobody = randomUUID();
        const gone = `Instance ${nobody} could not be found.`;
        await refused(
          `/v2.1/servers/${nobody}/os-instance-actions`,
          '2.58',
          404,
          'itemNotFound',
          gone,
        );
        await refused(
          `/v2.1/servers/${nobody}/os-instance-actions/${ops.failed}`,
          '2.1',
          404,
          'itemNotFound',
          gone,
        );
        await refused(
          showPath('req-nope'),
          '2.84',
          404,
          'itemNotFound',
          'Action req-nope not found',
        );
        // Another server's action is not this one's.
        await refused(
          `/v2.1/servers/${quiet.uuid}/os-instance-actions/${ops.failed}`,
          '2.1',
          404,
          'itemNotFound',
          `Action ${ops.failed} not found`,
        );
      });

      it('answers 400 naming the query parameter and why, from 2.58', async () => {
        const bad: [string, string, RegExp | string][] = [
          ['?limit=-1', '2.58', /query parameters limit\. Value: -1\. .*non-negative integer/],
          ['?limit=many', '2.58', /query parameters limit\. Value: many\./],
          ['?marker=req-nope', '2.58', 'Marker req-nope could not be found.'],
          [
            '?changes-since=yesterday',
            '2.58',
            /query parameters changes-since\. Value: yesterday\. It is not an ISO 8601 time/,
          ],
          [
            '?changes-before=2025-13-45T99:00:00',
            '2.66',
            /query parameters changes-before\. .*ISO 8601/,
          ],
          [
            '?changes-since=2025-01-02T00:00:00Z&changes-before=2025-01-01T00:00:00Z',
            '2.66',
            'The value of changes-since must be less than or equal to changes-before.',
          ],
          [
            '?changes-before=2025-01-01T00:00:00Z',
            '2.65',
            "Additional properties are not allowed ('changes-before' was unexpected)",
          ],
          [
            '?sort=asc&host=src',
            '2.95',
            "Additional properties are not allowed ('sort', 'host' were unexpected)",
          ],
          [
            '?limit=1&limit=2',
            '2.58',
            /query parameters limit\. Value: 1, 2\. It may be given only once/,
          ],
        ];
        for (const [query, version, message] of bad) {
          await refused(listPath(query), version, 400, 'badRequest', message);
        }
        // Below 2.58 Nova takes no query parameters and ignores any.
        expect((await call(listPath('?sort=asc&limit=-1'), { version: '2.57' })).status).toBe(200);
      });
    });
  },
);
