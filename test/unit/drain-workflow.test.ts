/**
 * The hostDrain workflow on the real Temporal server with MOCK children and control activities
 * (test/support/fake-move-workflows.ts, fake-drain-activities.ts): the sliding window, retries,
 * failures and left instances, the deadline, abort, and continue-as-new carrying the state.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import type { DrainInput, DrainState } from '../../workflows/drain-contract';
import { drainAbortUpdate, drainStatusQuery } from '../../workflows/drain-messages';
import { FakeDrain } from '../support/fake-drain-activities';
import { workflowHarness, type Harness } from '../support/workflow-harness';

let harness: Harness;
beforeAll(async () => {
  harness = await workflowHarness(require.resolve('../support/fake-move-workflows'));
});
afterAll(() => harness?.close());

function runDrain<T>(
  fakes: FakeDrain,
  input: Partial<DrainInput>,
  body: (handle: WorkflowHandle) => Promise<T>,
): Promise<T> {
  const args: DrainInput = {
    drainUuid: randomUUID(),
    host: `host-${randomUUID().slice(0, 8)}`,
    kind: 'drain',
    concurrency: 2,
    attempts: 3,
    deadline: null,
    exclude: [],
    requestedBy: 'test',
    retryDelaySeconds: 0.1,
    ...input,
  };
  return harness.runWorkflow(fakes, 'hostDrain', [args], `drain-${args.host}`, body);
}

const finish = (handle: WorkflowHandle) => handle.result() as Promise<DrainState>;

async function until(handle: WorkflowHandle, done: (state: DrainState) => boolean) {
  for (let i = 0; i < 400; i++) {
    const state = (await handle.query(drainStatusQuery).catch(() => undefined)) as
      DrainState | undefined;
    if (state && done(state)) return state;
    await sleep(25);
  }
  throw new Error('the drain never reached the state the test waits for');
}

const itemOf = (state: DrainState, name: string) =>
  state.items.find((item) => item.instanceName === name);

describe('hostDrain (mocked children and activities)', () => {
  it('moves every instance, never more than `concurrency` at once, and ends completed', async () => {
    const fakes = new FakeDrain();
    fakes.overlap = 2;
    const names = ['a', 'b', 'c', 'd', 'e'];
    names.forEach((name) => fakes.instance(name, 'live'));
    fakes.instance('f', 'cold');
    const state = await runDrain(fakes, { concurrency: 2 }, finish);
    expect(state.status).toBe('completed');
    expect(fakes.status).toBe('completed');
    expect(fakes.maxActive).toBe(2);
    expect(state.items.map((item) => [item.instanceName, item.state, item.attempts])).toEqual(
      [...names, 'f'].map((name) => [name, 'moved', 1]),
    );
    // Each instance began once, as the kind its plan gave it; two moves at once begin in any order.
    expect(fakes.began).toHaveLength(6);
    const kindOf = new Map(fakes.began.map((move) => [move.instanceUuid, move.kind]));
    expect(state.items.map((item) => kindOf.get(item.instanceUuid))).toEqual([
      ...names.map(() => 'live'),
      'cold',
    ]);
    expect([...fakes.recorded.values()].every((item) => item.state === 'moved')).toBe(true);
  });

  it('retries a retryable failure as a new move, then reports the move', async () => {
    const fakes = new FakeDrain();
    const item = fakes.instance(
      'a',
      'live',
      { outcome: 'fail', type: 'NoValidHost', message: 'no valid host for instance a' },
      { outcome: 'move', destHost: 'h2' },
    );
    const state = await runDrain(fakes, {}, finish);
    expect(state.status).toBe('completed');
    expect(itemOf(state, 'a')).toMatchObject({ state: 'moved', attempts: 2, destHost: 'h2' });
    expect(fakes.beganFor(item)).toBe(2);
  });

  it('gives up after `attempts` retryable failures, and does not retry other failures', async () => {
    const fakes = new FakeDrain();
    const timeout = { outcome: 'fail', type: 'MigrationTimeout', message: 'too slow' } as const;
    const slow = fakes.instance('slow', 'live', timeout);
    const broken = fakes.instance('broken', 'cold', {
      outcome: 'fail',
      type: 'MigrationError',
      message: 'disk copy failed',
    });
    fakes.instance('locked', 'none');
    const state = await runDrain(fakes, { attempts: 2 }, finish);
    expect(state.status).toBe('incomplete');
    expect(itemOf(state, 'slow')).toMatchObject({
      state: 'failed',
      attempts: 2,
      reason: 'too slow',
    });
    expect(itemOf(state, 'broken')).toMatchObject({
      state: 'failed',
      attempts: 1,
      reason: 'disk copy failed',
    });
    expect(itemOf(state, 'locked')).toMatchObject({ state: 'left', reason: 'instance is locked' });
    expect(fakes.beganFor(slow)).toBe(2);
    expect(fakes.beganFor(broken)).toBe(1);
    expect(fakes.recorded.get(broken.instanceUuid)?.state).toBe('failed');
  });

  it('starts nothing past the deadline; the move in flight finishes', async () => {
    const fakes = new FakeDrain();
    fakes.instance('first', 'live', { outcome: 'move', destHost: 'h2', ms: 2500 });
    const later = [fakes.instance('second', 'live'), fakes.instance('third', 'live')];
    const deadline = new Date(Date.now() + 1500).toISOString();
    const state = await runDrain(fakes, { concurrency: 1, deadline }, finish);
    expect(state.status).toBe('incomplete');
    expect(itemOf(state, 'first')).toMatchObject({ state: 'moved', destHost: 'h2' });
    for (const item of later) {
      expect(itemOf(state, item.instanceName)).toMatchObject({
        state: 'left',
        reason: 'deadline passed before its move started',
      });
      expect(fakes.beganFor(item)).toBe(0);
    }
  });

  it('abort drops the queued moves and aborts the ones in flight; ends aborted', async () => {
    const fakes = new FakeDrain();
    const moving = [
      fakes.instance('a', 'live', { outcome: 'hold' }),
      fakes.instance('b', 'cold', { outcome: 'hold' }),
    ];
    const queued = [fakes.instance('c', 'live'), fakes.instance('d', 'live')];
    const state = await runDrain(fakes, { concurrency: 2 }, async (handle) => {
      await until(handle, () => fakes.began.length === 2);
      const answered = (await handle.executeUpdate(drainAbortUpdate)) as DrainState;
      expect(answered.aborting).toBe(true);
      await expect(handle.executeUpdate(drainAbortUpdate)).rejects.toMatchObject({
        cause: { message: expect.stringMatching(/is aborting/) as unknown },
      });
      return finish(handle);
    });
    expect(state.status).toBe('aborted');
    expect(fakes.status).toBe('aborted');
    expect(fakes.hostState).toBe('disabled');
    expect(fakes.aborted.sort()).toEqual(moving.map((item) => item.instanceUuid).sort());
    for (const item of moving) {
      expect(itemOf(state, item.instanceName)?.state).toBe('left');
      expect(itemOf(state, item.instanceName)?.reason).toMatch(/^drain aborted, rolled back/);
    }
    for (const item of queued) {
      expect(itemOf(state, item.instanceName)).toMatchObject({
        state: 'left',
        reason: 'drain aborted before its move started',
      });
      expect(fakes.beganFor(item)).toBe(0);
    }
  });

  it('continues as new before the history grows past its limit, carrying every item', async () => {
    const fakes = new FakeDrain();
    const items = Array.from({ length: 8 }, (_, i) => fakes.instance(`vm${i}`, 'live'));
    const state = await runDrain(fakes, { concurrency: 2, historyLimit: 30 }, finish);
    expect(state.status).toBe('completed');
    expect(state.runs).toBeGreaterThan(1);
    expect(state.items.every((item) => item.state === 'moved')).toBe(true);
    for (const item of items) expect(fakes.beganFor(item)).toBe(1);
  });
});
