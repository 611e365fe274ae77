import {
  INITIAL_MONITOR_STATE,
  completionTimeoutMs,
  decide,
  mayRetryResume,
  downtimeSteps,
  migrationDataGiB,
  monitorPlan,
  progressFromStats,
  progressPercent,
  type MonitorPlan,
  type MonitorState,
  type Observation,
} from '../../activities/host/live-migration/monitor-policy';
import {
  MONITOR_INTERVAL_MS,
  PROGRESS_SAVE_INTERVAL_MS,
  liveMigrationSettings,
  type LiveMigrationSettings,
} from '../../activities/host/live-migration/settings';
import { loadConfig } from '../../config';
import { hasMigrationTlsCertificates } from '../../config/migration-tls';

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

/** Nova's defaults, as ferry's configuration has them. */
const NOVA = liveMigrationSettings(loadConfig({}));

function settings(overrides: Partial<LiveMigrationSettings> = {}): LiveMigrationSettings {
  return { ...NOVA, ...overrides };
}

/** A job 40 % done, as libvirt reports one: 1 GiB of data, 400 MiB of it gone. */
function observe(elapsedMs: number, dataRemaining = 600 * MIB, postCopy = false): Observation {
  return { elapsedMs, dataTotal: GIB, dataRemaining, dataProcessed: GIB - dataRemaining, postCopy };
}

/** Runs `decide` over the observations, returning each poll's actions and the last state. */
function run(plan: MonitorPlan, observations: Observation[]) {
  let state: MonitorState = INITIAL_MONITOR_STATE;
  const actions = observations.map((observation) => {
    const decision = decide(plan, state, observation);
    state = decision.state;
    return decision.actions;
  });
  return { actions, state };
}

describe('the settings', () => {
  it("are Nova's defaults, polled every 0.5 s and saved every 5 s", () => {
    expect(NOVA).toEqual({
      completionTimeoutPerGiB: 800,
      timeoutAction: 'abort',
      progressTimeoutSeconds: 150,
      maxDowntimeMs: 500,
      downtimeSteps: 10,
      downtimeDelayPerGiB: 75,
      bandwidthMiBs: 0,
      permitPostCopy: false,
      postCopyBandwidthMiBs: 0,
      postCopyStallTimeoutSeconds: 10,
      postCopyResumeTimeoutSeconds: 300,
      permitAutoConverge: false,
      withNativeTls: hasMigrationTlsCertificates(),
      monitorIntervalMs: 500,
      progressSaveIntervalMs: 5000,
    });
    expect([MONITOR_INTERVAL_MS, PROGRESS_SAVE_INTERVAL_MS]).toEqual([500, 5000]);
  });

  it('come from the FERRY_LIVE_MIGRATION_* variables', () => {
    const config = loadConfig({
      FERRY_LIVE_MIGRATION_COMPLETION_TIMEOUT: '150',
      FERRY_LIVE_MIGRATION_TIMEOUT_ACTION: 'force_complete',
      FERRY_LIVE_MIGRATION_PROGRESS_TIMEOUT: '0',
      FERRY_LIVE_MIGRATION_DOWNTIME: '1000',
      FERRY_LIVE_MIGRATION_DOWNTIME_STEPS: '4',
      FERRY_LIVE_MIGRATION_DOWNTIME_DELAY: '30',
      FERRY_LIVE_MIGRATION_BANDWIDTH: '64',
      FERRY_LIVE_MIGRATION_PERMIT_POST_COPY: 'true',
      FERRY_LIVE_MIGRATION_POSTCOPY_BANDWIDTH: '8',
      FERRY_LIVE_MIGRATION_POSTCOPY_STALL_TIMEOUT: '3',
      FERRY_LIVE_MIGRATION_POSTCOPY_RESUME_TIMEOUT: '60',
      FERRY_LIVE_MIGRATION_PERMIT_AUTO_CONVERGE: 'true',
      FERRY_LIVE_MIGRATION_WITH_NATIVE_TLS: 'false',
    });
    expect(liveMigrationSettings(config)).toEqual({
      completionTimeoutPerGiB: 150,
      timeoutAction: 'force_complete',
      progressTimeoutSeconds: 0,
      maxDowntimeMs: 1000,
      downtimeSteps: 4,
      downtimeDelayPerGiB: 30,
      bandwidthMiBs: 64,
      permitPostCopy: true,
      postCopyBandwidthMiBs: 8,
      postCopyStallTimeoutSeconds: 3,
      postCopyResumeTimeoutSeconds: 60,
      permitAutoConverge: true,
      withNativeTls: false,
      monitorIntervalMs: 500,
      progressSaveIntervalMs: 5000,
    });
  });
});

describe('migrationDataGiB: memory plus block-migrated disks, each at least 2 GiB', () => {
  test.each([
    ['a 128 MiB guest', 128, [], 2],
    ['a 4 GiB guest', 4096, [], 4],
    ['a 3 GiB guest with a 10 GiB disk', 3072, [10 * GIB], 13],
    ['a 128 MiB guest with a 32 MiB disk', 128, [32 * MIB], 4],
    ['a 6 GiB guest with 2.5 and 1 GiB disks', 6144, [2.5 * GIB, GIB], 10.5],
  ])('%s: %d MiB, disks %j → %d GiB', (_, memoryMiB, disks, expected) => {
    expect(migrationDataGiB(memoryMiB, disks)).toBe(expected);
  });
});

describe("downtimeSteps: Nova's downtime_steps", () => {
  it('D = 500 ms, S = 10, 1 GiB: from 50 ms at 0 s to 500 ms at 750 s, 75 s apart', () => {
    const steps = downtimeSteps(NOVA, 1);
    expect(steps).toHaveLength(11);
    expect(steps[0]).toEqual({ afterMs: 0, downtimeMs: 50 });
    expect(steps[10]).toEqual({ afterMs: 750_000, downtimeMs: 500 });
    expect(steps.map((step) => step.downtimeMs)).toEqual([
      50, 95, 140, 185, 230, 275, 320, 365, 410, 455, 500,
    ]);
    expect(steps.map((step) => step.afterMs / 1000)).toEqual([
      0, 75, 150, 225, 300, 375, 450, 525, 600, 675, 750,
    ]);
  });

  it('spaces the steps by the delay per GiB times the data, truncated to whole seconds', () => {
    expect(downtimeSteps(NOVA, 2)[1].afterMs).toBe(150_000);
    expect(downtimeSteps(NOVA, 2.5)[1].afterMs).toBe(187_000);
    expect(downtimeSteps(NOVA, 2.5)[2].afterMs).toBe(374_000);
  });

  it('truncates the downtimes like Nova (int of floats), so 500 ms in 6 steps ends at 499', () => {
    const downtimes = (steps: number) =>
      downtimeSteps(settings({ downtimeSteps: steps }), 2).map((step) => step.downtimeMs);
    expect(downtimes(3)).toEqual([166, 277, 388, 500]);
    expect(downtimes(6)).toEqual([83, 152, 222, 291, 361, 430, 499]);
  });
});

describe('completionTimeoutMs', () => {
  test.each([
    [800, 2, 1_600_000],
    [800, 2.125, 1_700_000],
    [150, 4.5, 675_000],
    [1, 2.9, 2_000],
  ])('%d s per GiB × %d GiB = %d ms', (perGiB, dataGiB, expected) => {
    expect(completionTimeoutMs(settings({ completionTimeoutPerGiB: perGiB }), dataGiB)).toBe(
      expected,
    );
  });

  it('is none when the setting is 0', () => {
    expect(completionTimeoutMs(settings({ completionTimeoutPerGiB: 0 }), 8)).toBeNull();
  });
});

describe('decide: the downtime steps', () => {
  const plan = monitorPlan(settings({ completionTimeoutPerGiB: 0, progressTimeoutSeconds: 0 }), 1);

  it('applies step 0 at the first poll after the start, then each step once, in order', () => {
    const { actions } = run(plan, [
      observe(0),
      observe(500),
      observe(1_000),
      observe(75_000),
      observe(75_001),
      observe(75_501),
      observe(150_001),
    ]);
    expect(actions).toEqual([
      [],
      [{ kind: 'set-max-downtime', downtimeMs: 50 }],
      [],
      [],
      [{ kind: 'set-max-downtime', downtimeMs: 95 }],
      [],
      [{ kind: 'set-max-downtime', downtimeMs: 140 }],
    ]);
  });

  it('ends at the max downtime and then sets nothing more', () => {
    const { actions, state } = run(plan, [observe(749_000), observe(750_001), observe(900_000)]);
    expect(actions).toEqual([
      [{ kind: 'set-max-downtime', downtimeMs: 455 }],
      [{ kind: 'set-max-downtime', downtimeMs: 500 }],
      [],
    ]);
    expect(state.nextStep).toBe(11);
  });

  it('goes straight to the step due when attaching to a job that ran for a while', () => {
    const { actions } = run(plan, [observe(400_000), observe(400_500)]);
    expect(actions).toEqual([[{ kind: 'set-max-downtime', downtimeMs: 275 }], []]);
  });

  it('keeps stepping during post-copy', () => {
    const { actions } = run(plan, [observe(100, 0, true)]);
    expect(actions).toEqual([[{ kind: 'set-max-downtime', downtimeMs: 50 }]]);
  });
});

describe('decide: the completion timeout (800 s per GiB, 2 GiB: 1600 s)', () => {
  const quiet = { progressTimeoutSeconds: 0, downtimeDelayPerGiB: 10_000 };

  it('aborts the job once the timeout has passed, with action abort', () => {
    const plan = monitorPlan(settings(quiet), 2);
    const { actions, state } = run(plan, [observe(1), observe(1_600_000), observe(1_600_001)]);
    expect(actions.slice(1)).toEqual([[], [{ kind: 'abort', reason: 'timeout' }]]);
    expect(state.timeoutActed).toBe(true);
  });

  it('forces completion once, and keeps stepping the downtime, with action force_complete', () => {
    const plan = monitorPlan(settings({ ...quiet, timeoutAction: 'force_complete' }), 2);
    const { actions } = run(plan, [observe(1_600_001), observe(1_700_000), observe(1_800_000)]);
    expect(actions).toEqual([
      [{ kind: 'force-complete' }, { kind: 'set-max-downtime', downtimeMs: 50 }],
      [],
      [],
    ]);
  });

  it('forces completion only once the job moves data, but aborts a job still setting up', () => {
    const setup = {
      elapsedMs: 1_700_000,
      dataTotal: 0,
      dataRemaining: 0,
      dataProcessed: 0,
      postCopy: false,
    };
    const forcing = monitorPlan(settings({ ...quiet, timeoutAction: 'force_complete' }), 2);
    const { actions } = run(forcing, [
      setup,
      { ...setup, elapsedMs: 1_700_500 },
      observe(1_701_000),
    ]);
    expect(
      actions.map((list) => list.filter((action) => action.kind !== 'set-max-downtime')),
    ).toEqual([[], [], [{ kind: 'force-complete' }]]);
    const aborting = monitorPlan(settings(quiet), 2);
    expect(run(aborting, [setup]).actions).toEqual([[{ kind: 'abort', reason: 'timeout' }]]);
  });

  it('takes no timeout action during post-copy', () => {
    const plan = monitorPlan(settings(quiet), 2);
    const { actions, state } = run(plan, [
      observe(1, 100 * MIB, true),
      observe(2_000_000, 0, true),
    ]);
    expect(actions[1]).toEqual([]);
    expect(state.timeoutActed).toBe(false);
  });

  it('never times out when the setting is 0', () => {
    const plan = monitorPlan(settings({ ...quiet, completionTimeoutPerGiB: 0 }), 2);
    const { actions, state } = run(plan, [observe(1), observe(1_000_000_000)]);
    expect(actions[1]).toEqual([{ kind: 'set-max-downtime', downtimeMs: 500 }]);
    expect(state.timeoutActed).toBe(false);
  });
});

describe('decide: stall detection (progress timeout 150 s)', () => {
  const plan = monitorPlan(
    settings({ completionTimeoutPerGiB: 0, downtimeDelayPerGiB: 10_000 }),
    2,
  );
  const aborts = (actions: ReturnType<typeof run>['actions']) =>
    actions.map((list) => list.some((action) => action.kind === 'abort'));

  it('aborts when data remaining has not dropped below its lowest value for 150 s', () => {
    const { actions } = run(plan, [
      observe(10_000, 700 * MIB),
      observe(20_000, 500 * MIB),
      observe(100_000, 650 * MIB),
      observe(170_000, 500 * MIB),
      observe(170_001, 510 * MIB),
    ]);
    expect(aborts(actions)).toEqual([false, false, false, false, true]);
    expect(actions[4]).toEqual([{ kind: 'abort', reason: 'stalled' }]);
  });

  it('starts waiting afresh whenever data remaining drops below its lowest value', () => {
    const { actions, state } = run(plan, [
      observe(10_000, 700 * MIB),
      observe(150_000, 699 * MIB),
      observe(290_000, 698 * MIB),
      observe(430_000, 800 * MIB),
    ]);
    expect(aborts(actions)).toEqual([false, false, false, false]);
    expect(state).toMatchObject({ lowestRemaining: 698 * MIB, lowestAtMs: 290_000 });
  });

  it('does not count the setup, while libvirt reports no data total yet', () => {
    const setup = { dataTotal: 0, dataRemaining: 0, dataProcessed: 0, postCopy: false };
    const { actions } = run(plan, [
      { ...setup, elapsedMs: 1_000 },
      { ...setup, elapsedMs: 200_000 },
      observe(200_500, 900 * MIB),
      observe(350_000, 900 * MIB),
    ]);
    expect(aborts(actions)).toEqual([false, false, false, false]);
  });

  it('never aborts a job in post-copy, nor with the progress timeout set to 0', () => {
    const stuck = [observe(1_000, 500 * MIB), observe(1_000_000, 500 * MIB)];
    expect(
      aborts(
        run(
          plan,
          stuck.map((o) => ({ ...o, postCopy: true })),
        ).actions,
      ),
    ).toEqual([false, false]);
    const off = monitorPlan(settings({ progressTimeoutSeconds: 0 }), 2);
    expect(aborts(run(off, stuck).actions)).toEqual([false, false]);
  });

  it('aborts for the stall alone when the completion timeout passed at the same poll', () => {
    const both = monitorPlan(settings({ completionTimeoutPerGiB: 1 }), 2);
    const { actions } = run(both, [observe(1, 500 * MIB), observe(200_000, 500 * MIB)]);
    expect(actions[1]).toEqual([{ kind: 'abort', reason: 'stalled' }]);
  });
});

describe('progress', () => {
  test.each([
    [0, 0, 0],
    [GIB, GIB, 0],
    [GIB, GIB / 2, 50],
    [GIB, GIB / 3, 67],
    [GIB, 0, 100],
    [GIB, 2 * GIB, 0],
    [1000, 4, 100],
    [1000, 6, 99],
  ])('total %d, remaining %d: %d %%', (total, remaining, percent) => {
    expect(progressPercent(total, remaining)).toBe(percent);
  });

  it("takes memory and disk counters from libvirt's job stats", () => {
    const stats = {
      dataTotal: 3 * GIB,
      dataRemaining: GIB,
      memTotal: GIB,
      memProcessed: 768 * MIB,
      memRemaining: 256 * MIB,
      diskTotal: 2 * GIB,
      diskProcessed: 1280 * MIB,
      diskRemaining: 768 * MIB,
    };
    expect(progressFromStats(stats, true)).toEqual({
      memoryTotalBytes: GIB,
      memoryProcessedBytes: 768 * MIB,
      memoryRemainingBytes: 256 * MIB,
      diskTotalBytes: 2 * GIB,
      diskProcessedBytes: 1280 * MIB,
      diskRemainingBytes: 768 * MIB,
      percent: 67,
      postCopy: true,
    });
    expect(progressFromStats({}, false)).toEqual({
      memoryTotalBytes: 0,
      memoryProcessedBytes: 0,
      memoryRemainingBytes: 0,
      diskTotalBytes: 0,
      diskProcessedBytes: 0,
      diskRemainingBytes: 0,
      percent: 0,
      postCopy: false,
    });
  });
});

describe('decide: a post-copy that lost its link (post-copy stall timeout 10 s)', () => {
  const plan = monitorPlan(
    settings({ completionTimeoutPerGiB: 0, downtimeDelayPerGiB: 10_000 }),
    2,
  );
  const pauses = (actions: ReturnType<typeof run>['actions']) =>
    actions.map((list) => list.some((action) => action.kind === 'pause-post-copy'));

  it('pauses it once, when data processed has not grown for 10 s', () => {
    const { actions, state } = run(plan, [
      observe(1_000, 500 * MIB, true),
      observe(5_000, 400 * MIB, true),
      observe(15_000, 400 * MIB, true),
      observe(15_001, 400 * MIB, true),
      observe(40_000, 400 * MIB, true),
    ]);
    expect(pauses(actions)).toEqual([false, false, false, true, false]);
    expect(actions[3]).toEqual([{ kind: 'pause-post-copy' }]);
    expect(state.postCopyPaused).toBe(true);
  });

  it('waits afresh whenever data moves, and never counts the pre-copy phase', () => {
    const { actions } = run(plan, [
      observe(1_000, 500 * MIB),
      observe(100_000, 500 * MIB),
      observe(100_500, 500 * MIB, true),
      observe(110_000, 499 * MIB, true),
      observe(119_000, 499 * MIB, true),
      observe(128_000, 498 * MIB, true),
    ]);
    expect(pauses(actions)).toEqual([false, false, false, false, false, false]);
  });

  it('never pauses one with no data left (its last handshake)', () => {
    const { actions } = run(plan, [observe(1_000, 0, true), observe(60_000, 0, true)]);
    expect(pauses(actions)).toEqual([false, false]);
  });

  it('leaves a pre-copy that moves nothing to the progress timeout', () => {
    const { actions } = run(plan, [observe(1_000, 500 * MIB), observe(60_000, 500 * MIB)]);
    expect(pauses(actions)).toEqual([false, false]);
  });
});

describe('mayRetryResume: the bound on waiting for a broken link', () => {
  it('retries for the resume timeout after the link broke, and not a moment longer', () => {
    const bound = settings({ postCopyResumeTimeoutSeconds: 30 });
    expect(mayRetryResume(bound, 1_000, 31_000)).toBe(true);
    expect(mayRetryResume(bound, 1_000, 31_001)).toBe(false);
    expect(mayRetryResume(settings({ postCopyResumeTimeoutSeconds: 0 }), 1_000, 1_001)).toBe(false);
  });
});
