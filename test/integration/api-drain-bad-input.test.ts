/**
 * Malformed, forbidden and impossible requests to the drain endpoints (/ferry/v1): each is
 * answered with the right status, Nova's error key and a message naming the field or the reason,
 * and leaves the hosts, the drains, the migrations and the instances as they were. Real SQLite,
 * real Temporal; no worker runs, none is needed.
 */
import { randomUUID } from 'node:crypto';
import type { DrainInput } from '../../workflows/drain-contract';
import {
  addInstance,
  seedFleet,
  startApiHarness,
  type ApiHarness,
  type ApiRequest,
} from '../support/api-harness';

interface Case {
  what: string;
  request: ApiRequest;
  status: number;
  fault: string;
  message: RegExp;
}

const drain = (host: string, body: unknown, extra: Partial<ApiRequest> = {}): ApiRequest => ({
  method: 'POST',
  path: `/ferry/v1/hosts/${host}/drain`,
  body,
  ...extra,
});
const undrain = (host: string, body: unknown): ApiRequest => ({
  method: 'POST',
  path: `/ferry/v1/hosts/${host}/undrain`,
  body,
});
const field = (name: string, why: string) =>
  new RegExp(`^Invalid input for field/attribute ${name}\\. Value: .*${why}`);

const cases: Case[] = [
  {
    what: 'a drain by a member',
    request: drain('src', {}, { token: 'member' }),
    status: 403,
    fault: 'forbidden',
    message: /Policy doesn't allow ferry:drains:create/,
  },
  {
    what: 'the drains list for a member',
    request: { path: '/ferry/v1/drains', token: 'member' },
    status: 403,
    fault: 'forbidden',
    message: /ferry:drains:list/,
  },
  {
    what: 'an abort by a member',
    request: { method: 'DELETE', path: '/ferry/v1/drains/1', token: 'member' },
    status: 403,
    fault: 'forbidden',
    message: /ferry:drains:abort/,
  },
  {
    what: 'no token',
    request: drain('src', {}, { token: 'none' }),
    status: 401,
    fault: 'unauthorized',
    message: /./,
  },
  {
    what: 'a drain of a host that is not registered',
    request: drain('nowhere', {}),
    status: 404,
    fault: 'itemNotFound',
    message: /^compute host nowhere could not be found$/,
  },
  {
    what: 'a drain of a host that is down',
    request: drain('gone', {}),
    status: 409,
    fault: 'conflictingRequest',
    message: /^host gone is down/,
  },
  {
    what: 'concurrency 0',
    request: drain('src', { concurrency: 0 }),
    status: 400,
    fault: 'badRequest',
    message: field('concurrency', 'less than the minimum of 1'),
  },
  {
    what: 'concurrency as a string',
    request: drain('src', { concurrency: '2' }),
    status: 400,
    fault: 'badRequest',
    message: field('concurrency', "is not of type 'integer'"),
  },
  {
    what: 'a fractional attempts',
    request: drain('src', { attempts: 1.5 }),
    status: 400,
    fault: 'badRequest',
    message: field('attempts', "is not of type 'integer'"),
  },
  {
    what: 'attempts past the maximum',
    request: drain('src', { attempts: 1000 }),
    status: 400,
    fault: 'badRequest',
    message: field('attempts', 'greater than the maximum of 100'),
  },
  {
    what: 'a deadline that is not a duration',
    request: drain('src', { deadline: 'soon' }),
    status: 400,
    fault: 'badRequest',
    message: /^deadline: "soon" is not a duration such as 90s, 30m, 2h or 1h30m$/,
  },
  {
    what: 'a deadline of zero',
    request: drain('src', { deadline: '0m' }),
    status: 400,
    fault: 'badRequest',
    message: /^deadline: "0m" is not a duration/,
  },
  {
    what: 'a deadline as a number',
    request: drain('src', { deadline: 60 }),
    status: 400,
    fault: 'badRequest',
    message: field('deadline', "is not of type 'string'"),
  },
  {
    what: 'exclude that is not an array',
    request: drain('src', { exclude: 'vm1' }),
    status: 400,
    fault: 'badRequest',
    message: field('exclude', "is not of type 'array'"),
  },
  {
    what: 'exclude holding a number',
    request: drain('src', { exclude: ['ok', 7] }),
    status: 400,
    fault: 'badRequest',
    message: field('exclude\\.1', "is not of type 'string'"),
  },
  {
    what: 'exclude naming no instance of the host',
    request: drain('src', { exclude: ['no-such-vm'] }),
    status: 400,
    fault: 'badRequest',
    message: /^exclude: no-such-vm is not an instance on host src$/,
  },
  {
    what: 'dryRun that is not a boolean',
    request: drain('src', { dryRun: 'yes' }),
    status: 400,
    fault: 'badRequest',
    message: field('dryRun', "is not of type 'boolean'"),
  },
  {
    what: 'an unexpected property',
    request: drain('src', { concurency: 2 }),
    status: 400,
    fault: 'badRequest',
    message: /Additional properties are not allowed \('concurency' was unexpected\)/,
  },
  {
    what: 'a body that is not JSON',
    request: drain('src', undefined, { raw: '{"concurrency": ' }),
    status: 400,
    fault: 'badRequest',
    message: /^Malformed request body: .*JSON/,
  },
  {
    what: 'a JSON array as the body',
    request: drain('src', [{ concurrency: 2 }]),
    status: 400,
    fault: 'badRequest',
    message: field('body', "is not of type 'object'"),
  },
  {
    what: 'a drain of a host whose drain runs',
    request: drain('off', {}),
    status: 409,
    fault: 'conflictingRequest',
    message: /^host off has a drain or return in progress \(workflow drain-off\)/,
  },
  {
    what: 'a drain that does not exist',
    request: { path: '/ferry/v1/drains/99999' },
    status: 404,
    fault: 'itemNotFound',
    message: /^drain 99999 could not be found$/,
  },
  {
    what: 'an abort of a drain that does not exist',
    request: { method: 'DELETE', path: '/ferry/v1/drains/99999' },
    status: 404,
    fault: 'itemNotFound',
    message: /^drain 99999 could not be found$/,
  },
  {
    what: 'an abort of a drain that ended',
    request: { method: 'DELETE', path: '/ferry/v1/drains/dst' },
    status: 409,
    fault: 'conflictingRequest',
    message: /^drain \d+ of dst is completed, not running$/,
  },
  {
    what: 'an undrain of a host that is not registered',
    request: undrain('nowhere', {}),
    status: 404,
    fault: 'itemNotFound',
    message: /^compute host nowhere could not be found$/,
  },
  {
    what: 'an undrain with return as a string',
    request: undrain('dst', { return: 'yes' }),
    status: 400,
    fault: 'badRequest',
    message: field('return', "is not of type 'boolean'"),
  },
  {
    what: 'an undrain while the host drains',
    request: undrain('src', {}),
    status: 409,
    fault: 'conflictingRequest',
    message: /^host src has drain \d+ running: abort it first/,
  },
  {
    what: 'a path the extension does not have',
    request: { path: '/ferry/v1/hosts' },
    status: 404,
    fault: 'itemNotFound',
    message: /could not be found/,
  },
  {
    what: 'a method the drains list does not take',
    request: { method: 'DELETE', path: '/ferry/v1/drains' },
    status: 405,
    fault: 'badMethod',
    message: /not allowed/,
  },
];

describe('the drain endpoints refuse bad requests and change nothing', () => {
  let api: ApiHarness;
  const blockingQueue = `ferry-api-drain-test-${randomUUID()}`;

  beforeAll(async () => {
    api = await startApiHarness();
    const { db } = api;
    await seedFleet(db);
    await addInstance(db, 'vm');
    const row = (host: string, status: string) => ({
      uuid: randomUUID(),
      host,
      status,
      concurrency: 1,
      attempts: 3,
      workflowId: `drain-${host}`,
    });
    // src drains (its row says running, and Temporal knows its workflow; nothing runs it); dst
    // drained before; off has a drain workflow and no row yet.
    const draining = await db.drain.create({ data: row('src', 'running') });
    await db.drain.create({ data: { ...row('dst', 'completed'), finishedAt: new Date() } });
    for (const [host, drainUuid] of [
      ['src', draining.uuid],
      ['off', randomUUID()],
    ]) {
      const input: DrainInput = {
        drainUuid,
        host,
        kind: 'drain',
        concurrency: 1,
        attempts: 3,
        deadline: null,
        exclude: [],
        requestedBy: 'test',
      };
      await api.client.workflow.start('hostDrain', {
        taskQueue: blockingQueue,
        workflowId: `drain-${host}`,
        args: [input],
        memo: { drainUuid },
      });
    }
  });

  afterAll(async () => {
    for (const id of ['drain-src', 'drain-off']) {
      await api?.client.workflow
        .getHandle(id)
        .terminate('test over')
        .catch(() => undefined);
    }
    await api?.close();
  });

  async function snapshot() {
    const { db } = api;
    return {
      hosts: await db.host.findMany({ orderBy: { name: 'asc' } }),
      drains: await db.drain.findMany({ orderBy: { id: 'asc' }, include: { items: true } }),
      migrations: await db.migration.findMany({ orderBy: { id: 'asc' } }),
      instances: await db.instance.findMany({ orderBy: { uuid: 'asc' } }),
    };
  }

  it.each(cases.map((c) => [c.what, c] as const))('refuses %s', async (_what, c) => {
    const before = await snapshot();
    const response = await api.call(c.request);
    expect({ status: response.status, body: response.body }).toEqual({
      status: c.status,
      body: { [c.fault]: { code: c.status, message: expect.stringMatching(c.message) } },
    });
    expect(await snapshot()).toEqual(before);
  });
});
