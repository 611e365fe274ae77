/**
 * The liveMigration workflow's lifecycle with MOCK activities (test/support/fake-live-migration-
 * activities.ts) on the real Temporal server: every step's failure, the rollback order, abort,
 * force-complete and the scheduler's alternates.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ApplicationFailure,
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type WorkflowExecutionInfo,
} from '@temporalio/client';
import {
  abortSignal,
  abortUpdate,
  forceCompleteUpdate,
  progressSignal,
  statusQuery,
} from '../../workflows/live-migration-messages';
import type { LiveMigrationState } from '../../workflows/live-migration-contract';
import { FerryDestHost, FerryStatus } from '../../workflows/search-attributes';
import { PROGRESS_DONE, type FakeFleet } from '../support/fake-live-migration-activities';
import { MERGED_LIVE_MIGRATION_STEPS, markersOf } from '../support/history-markers';
import { workflowHarness, type Harness } from '../support/workflow-harness';

let harness: Harness;
beforeAll(async () => {
  harness = await workflowHarness();
});
afterAll(() => harness?.close());

/** The workflow's failure: its Nova type and the state it reported. */
async function failureOf(result: Promise<unknown>) {
  const error = await result.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  const cause = (error as WorkflowFailedError).cause as ApplicationFailure;
  return {
    type: cause.type,
    message: cause.message,
    state: cause.details?.[0] as LiveMigrationState,
  };
}

async function until(what: string, probe: () => Promise<boolean> | boolean): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await probe()) return;
    await sleep(50);
  }
  throw new Error(`${what} did not happen`);
}

/** What must hold after any rollback: nothing held, nothing left on any destination. */
function expectRolledBack(fleet: FakeFleet) {
  expect(fleet.instance.taskState).toBeNull();
  expect(fleet.instance.hostName).toBe(fleet.source);
  expect(fleet.claims.size).toBe(0);
  expect(fleet.presence.get(fleet.source)).toBe('running');
  for (const host of fleet.hosts.slice(1)) expect(fleet.presence.get(host)).toBeUndefined();
  // What os-instance-actions shows: every step started is finished, the rollback's last.
  const started = fleet.events.filter((e) => e.phase === 'start').map((e) => e.event);
  const finished = fleet.events.filter((e) => e.phase === 'finish').map((e) => e.event);
  expect(finished.sort()).toEqual(started.sort());
  expect(finished).toContain('compute_rollback_live_migration');
}

describe('liveMigration (mocked activities)', () => {
  it('migrates to the requested host and records every step', async () => {
    const fleet = harness.fleet(2);
    const dest = fleet.hosts[2];
    const state = await harness.run(fleet, { requestedHost: dest }, (h) => h.result());
    expect(state).toMatchObject({ status: 'completed', destHost: dest, blockMigration: true });
    expect(fleet.instance).toMatchObject({ hostName: dest, taskState: null, progress: 100 });
    expect(fleet.migration.status).toBe('completed');
    expect(fleet.claims.size).toBe(0);
    expect(fleet.calls).not.toContain(`${dest}:rollbackLiveMigrationAtDestination`);
    const finished = fleet.events.filter((e) => e.phase === 'finish').map((e) => e.event);
    expect(finished).toEqual([
      'compute_check_can_live_migrate_source',
      'schedule:1',
      `compute_check_can_live_migrate_destination:${dest}`,
      'compute_pre_live_migration',
      'compute_live_migration',
      'compute_post_live_migration',
    ]);
    expect(fleet.events.every((e) => e.phase === 'start' || e.result === 'Success')).toBe(true);
  });

  it('records each step as started before its host call and finished after, in 7 local activities and one patch', async () => {
    const fleet = harness.fleet(2);
    const dest = fleet.hosts[2];
    const history = await harness.run(fleet, { requestedHost: dest }, async (h) => {
      await h.result();
      return h.fetchHistory();
    });
    const at = (entry: string) => {
      expect(fleet.timeline).toContain(entry);
      return fleet.timeline.indexOf(entry);
    };
    const steps: [string, string][] = [
      ['compute_check_can_live_migrate_source', `${fleet.source}:checkCanLiveMigrateSource`],
      [
        `compute_check_can_live_migrate_destination:${dest}`,
        `${dest}:checkCanLiveMigrateDestination`,
      ],
      ['compute_pre_live_migration', `${dest}:prepareLiveMigrationDestination`],
      ['compute_live_migration', `${fleet.source}:liveMigrate`],
      ['compute_post_live_migration', `${fleet.source}:cleanupLiveMigrationSource`],
    ];
    for (const [event, call] of steps) {
      expect(at(`start:${event}`)).toBeLessThan(at(call));
      expect(at(call)).toBeLessThan(at(`finish:${event}`));
    }
    expect(at('finish:compute_post_live_migration')).toBeLessThan(
      at('control.completeLiveMigration'),
    );
    const markers = markersOf(history);
    expect(markers.patches).toEqual(['control-steps-merged']);
    expect(markers.localActivities).toEqual(MERGED_LIVE_MIGRATION_STEPS);
  });

  it('tries the next alternate when a destination refuses its pre-check, releasing its claim', async () => {
    const fleet = harness.fleet(3);
    const [, first, second] = fleet.hosts;
    fleet.refusingHosts.set(first, 'InvalidCPUInfo');
    const state = await harness.run(fleet, {}, (h) => h.result());
    expect(state.destHost).toBe(second);
    expect(state.refusedHosts).toEqual([
      { host: first, reason: `${first} refuses: InvalidCPUInfo` },
    ]);
    expect(fleet.calls).toContain('control.releaseClaims');
    expect(fleet.instance.hostName).toBe(second);
  });

  it('gives up with NoValidHost after the attempt limit', async () => {
    const fleet = harness.fleet(3);
    for (const host of fleet.hosts.slice(1))
      fleet.refusingHosts.set(host, 'MigrationPreCheckError');
    fleet.policy.schedulerMaxAttempts = 2;
    const failure = await failureOf(harness.run(fleet, {}, (h) => h.result()));
    expect(failure.type).toBe('NoValidHost');
    expect(failure.message).toMatch(/after 2 attempts/);
    expect(fleet.calls.filter((c) => c.endsWith(':checkCanLiveMigrateDestination'))).toHaveLength(
      2,
    );
    expect(fleet.migration.status).toBe('error');
    expectRolledBack(fleet);
  });

  it('does not try alternates for a requested host', async () => {
    const fleet = harness.fleet(2);
    fleet.refusingHosts.set(fleet.hosts[1], 'InvalidCPUInfo');
    const failure = await failureOf(
      harness.run(fleet, { requestedHost: fleet.hosts[1] }, (h) => h.result()),
    );
    expect(failure.type).toBe('InvalidCPUInfo');
    expect(fleet.calls).not.toContain(`${fleet.hosts[2]}:checkCanLiveMigrateDestination`);
    expectRolledBack(fleet);
  });

  it('refuses without touching an instance another operation holds', async () => {
    const fleet = harness.fleet(1);
    fleet.instance.taskState = 'resize_prep';
    const failure = await failureOf(harness.run(fleet, {}, (h) => h.result()));
    expect(failure.type).toBe('InstanceInvalidState');
    expect(fleet.instance.taskState).toBe('resize_prep');
    expect(fleet.migration.status).toBe('error');
    expect(fleet.calls).not.toContain('control.failMigration');
  });

  const steps: {
    activity: string;
    onDest?: boolean;
    status: string;
    undone: string[];
  }[] = [
    { activity: 'checkCanLiveMigrateSource', status: 'error', undone: [] },
    { activity: 'selectDestinations', status: 'error', undone: [] },
    { activity: 'hasStorageProbe', status: 'error', undone: ['control.releaseClaims'] },
    { activity: 'acquireMigrationSlot', status: 'error', undone: [] },
    {
      activity: 'prepareLiveMigrationDestination',
      onDest: true,
      status: 'error',
      undone: ['dest:rollbackLiveMigrationAtDestination'],
    },
    {
      activity: 'liveMigrate',
      status: 'failed',
      undone: ['source:resumeInstance', 'dest:rollbackLiveMigrationAtDestination'],
    },
  ];
  it.each(steps)(
    'a failure at $activity rolls back in reverse and ends $status',
    async ({ activity, onDest, status, undone }) => {
      const fleet = harness.fleet(1);
      const [source, dest] = fleet.hosts;
      fleet.failures.push({ activity, ...(onDest ? { host: dest } : {}) });
      const failure = await failureOf(
        harness.run(fleet, { requestedHost: dest }, (h) => h.result()),
      );
      expect(failure.state.status).toBe(status);
      expect(fleet.migration).toMatchObject({ status, error: `injected failure at ${activity}` });
      expectRolledBack(fleet);
      const compensations = fleet.calls
        .filter((call) =>
          /resumeInstance|rollbackLiveMigrationAtDestination|releaseClaims$/.test(call),
        )
        .map((call) => call.replace(source, 'source').replace(dest, 'dest'));
      expect(compensations).toEqual([...undone, 'control.releaseClaims']);
    },
  );

  it.each(['MigrationTimeout', 'MigrationStalled'] as const)(
    'a migration the monitor gives up on (%s) fails with that type and rolls back',
    async (type) => {
      const fleet = harness.fleet(1);
      fleet.failures.push({ activity: 'liveMigrate', type });
      const failure = await failureOf(harness.run(fleet, {}, (h) => h.result()));
      expect(failure.type).toBe(type);
      expect(fleet.migration.status).toBe('failed');
      expectRolledBack(fleet);
    },
  );

  it('finishes, never undoes, a migration whose guest landed on the destination', async () => {
    const fleet = harness.fleet(1);
    const dest = fleet.hosts[1];
    fleet.migrateMode = 'lands-then-fails';
    const state = await harness.run(fleet, {}, (h) => h.result());
    expect(state.status).toBe('completed');
    expect(fleet.instance.hostName).toBe(dest);
    expect(fleet.presence.get(dest)).toBe('running');
    expect(fleet.calls).not.toContain(`${dest}:rollbackLiveMigrationAtDestination`);
  });

  it('a compensation that fails puts the instance in ERROR with the reason', async () => {
    const fleet = harness.fleet(1);
    const dest = fleet.hosts[1];
    fleet.failures.push({ activity: 'liveMigrate' });
    fleet.failures.push({ activity: 'rollbackLiveMigrationAtDestination', message: 'disk busy' });
    const failure = await failureOf(harness.run(fleet, { requestedHost: dest }, (h) => h.result()));
    expect(failure.state.status).toBe('error');
    expect(fleet.instance.vmState).toBe('error');
    expect(fleet.migration.error).toMatch(/rollback failed: .*disk busy/);
  });

  it('aborts while queued without preparing anything', async () => {
    const fleet = harness.fleet(1);
    fleet.slotFree = false;
    const failure = await harness.run(fleet, {}, async (handle) => {
      await until('queued', async () => (await handle.query(statusQuery)).status === 'queued');
      await handle.executeUpdate(abortUpdate);
      return failureOf(handle.result());
    });
    expect(failure.type).toBe('MigrationCancelled');
    expect(fleet.migration.status).toBe('cancelled');
    expect(fleet.calls.some((c) => c.endsWith('prepareLiveMigrationDestination'))).toBe(false);
    expectRolledBack(fleet);
  });

  it('aborts while preparing, undoing the preparation', async () => {
    const fleet = harness.fleet(1);
    let release = () => undefined as void;
    fleet.prepareGate = new Promise<void>((resolve) => (release = resolve));
    const failure = await harness.run(fleet, {}, async (handle) => {
      await until(
        'preparing',
        async () => (await handle.query(statusQuery)).status === 'preparing',
      );
      await handle.executeUpdate(abortUpdate);
      release();
      return failureOf(handle.result());
    });
    expect(failure.type).toBe('MigrationCancelled');
    expect(fleet.calls.some((c) => c.endsWith(':liveMigrate'))).toBe(false);
    expect(fleet.calls.some((c) => c.endsWith(':rollbackLiveMigrationAtDestination'))).toBe(true);
    expectRolledBack(fleet);
  });

  it('aborts while running: the migration activity is cancelled, then rolled back', async () => {
    const fleet = harness.fleet(1);
    fleet.migrateMode = 'run-until-cancelled';
    const failure = await harness.run(fleet, {}, async (handle) => {
      await until('running', async () => (await handle.query(statusQuery)).status === 'running');
      await until('migrating', () => fleet.calls.some((c) => c.endsWith(':liveMigrate')));
      await handle.executeUpdate(abortUpdate);
      return failureOf(handle.result());
    });
    expect(failure.type).toBe('MigrationCancelled');
    expect(fleet.migrationAborted).toBe(true);
    expect(fleet.migration.status).toBe('cancelled');
    expectRolledBack(fleet);
  });

  it('saves the signalled progress through the control plane, never after the final state', async () => {
    const fleet = harness.fleet(1);
    fleet.migrateMode = 'run-until-cancelled';
    const progress = (processed: number) => ({
      ...PROGRESS_DONE,
      memoryProcessedBytes: processed,
      percent: processed,
    });
    await harness.run(fleet, {}, async (handle) => {
      await until('migrating', () => fleet.calls.some((c) => c.endsWith(':liveMigrate')));
      await handle.signal(progressSignal, progress(10));
      await until('first save', () => fleet.savedProgress.length === 1);
      await handle.signal(progressSignal, progress(20));
      expect((await handle.query(statusQuery)).progress).toMatchObject({ percent: 20 });
      // Past the 2 s throttle the next signal's progress is written, whatever came between.
      await sleep(2100);
      await handle.signal(progressSignal, progress(30));
      await until('the latest saved', () => fleet.savedProgress.at(-1)?.progress.percent === 30);
      await handle.executeUpdate(abortUpdate);
      await handle.result().catch(() => undefined);
      await handle.signal(progressSignal, progress(40)).catch(() => undefined);
    });
    const saved = fleet.savedProgress.map((s) => s.progress.percent);
    expect(saved[0]).toBe(10);
    expect(saved.at(-1)).toBe(30);
    expect(fleet.savedProgress.every((saved) => saved.status === 'running')).toBe(true);
    const saves = fleet.calls.flatMap((call, i) =>
      call.endsWith('saveMigrationProgress') ? [i] : [],
    );
    expect(Math.max(...saves)).toBeLessThan(fleet.calls.indexOf('control.failMigration'));
  });

  it("a drain's abort signal while running cancels and rolls back like the Update", async () => {
    const fleet = harness.fleet(1);
    fleet.migrateMode = 'run-until-cancelled';
    const failure = await harness.run(fleet, {}, async (handle) => {
      await until('migrating', () => fleet.calls.some((c) => c.endsWith(':liveMigrate')));
      await handle.signal(abortSignal);
      return failureOf(handle.result());
    });
    expect(failure.type).toBe('MigrationCancelled');
    expect(fleet.migration.status).toBe('cancelled');
    expectRolledBack(fleet);
  });

  it('force-completes only a running migration', async () => {
    const fleet = harness.fleet(1);
    fleet.slotFree = false;
    await harness.run(fleet, {}, async (handle) => {
      await until('queued', async () => (await handle.query(statusQuery)).status === 'queued');
      const refused = await handle.executeUpdate(forceCompleteUpdate).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
      expect((refused as WorkflowUpdateFailedError).cause?.message).toMatch(
        /cannot force-complete .*: it is queued, not running/,
      );
      fleet.migrateMode = 'run-until-cancelled';
      fleet.slotFree = true;
      await until('running', async () => (await handle.query(statusQuery)).status === 'running');
      await handle.executeUpdate(forceCompleteUpdate);
      expect(fleet.forcedWith).toBe('paused');
      await handle.executeUpdate(abortUpdate);
      await handle.result().catch(() => undefined);
    });
  });

  it('leaves its status and destination for a visibility query to find', async () => {
    const fleet = harness.fleet(1);
    const dest = fleet.hosts[1];
    const workflowId = await harness.run(fleet, {}, async (handle) => {
      await handle.result();
      return handle.workflowId;
    });
    const query = `WorkflowId = '${workflowId}' AND FerryStatus = 'completed' AND FerryDestHost = '${dest}'`;
    let found: WorkflowExecutionInfo | undefined;
    // Visibility is indexed apart from the history: wait, within a bound, for the record to show.
    for (let i = 0; i < 100 && !found; i++) {
      for await (const execution of harness.client.workflow.list({ query })) found = execution;
      if (!found) await sleep(100);
    }
    expect(found?.workflowId).toBe(workflowId);
    expect(found?.typedSearchAttributes.get(FerryStatus)).toBe('completed');
    expect(found?.typedSearchAttributes.get(FerryDestHost)).toBe(dest);
  });

  it('refuses an abort before the migration is queued', async () => {
    const fleet = harness.fleet(1);
    let release = () => undefined as void;
    fleet.sourceCheckGate = new Promise<void>((resolve) => (release = resolve));
    const state = await harness.run(fleet, {}, async (handle) => {
      await until('source pre-check', () =>
        fleet.calls.some((c) => c.endsWith(':checkCanLiveMigrateSource')),
      );
      const refused = await handle.executeUpdate(abortUpdate).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
      expect((refused as WorkflowUpdateFailedError).cause?.message).toMatch(
        /cannot abort migration .*: it is accepted, not queued or preparing or running/,
      );
      release();
      return handle.result();
    });
    expect(state.status).toBe('completed');
    expect(fleet.migration.status).toBe('completed');
  });

  // The workflow ends with the migration, so the server refuses the abort before any validator.
  it('refuses an abort once the migration is over', async () => {
    const fleet = harness.fleet(1);
    await harness.run(fleet, {}, async (handle) => {
      await handle.result();
      const refused = await handle.executeUpdate(abortUpdate).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(WorkflowNotFoundError);
      expect((refused as WorkflowNotFoundError).message).toMatch(/already completed/);
      expect((await handle.query(statusQuery)).status).toBe('completed');
    });
    expect(fleet.migration.status).toBe('completed');
  });
});
