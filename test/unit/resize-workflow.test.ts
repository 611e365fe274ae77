/**
 * The resize workflow's lifecycle with MOCK activities (test/support/fake-resize-activities.ts) on
 * the real Temporal server: each step's failure, confirm and revert with their validators, the
 * resize_confirm_window auto-confirm, window 0, and a revert racing the window.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  WorkflowFailedError,
  WorkflowUpdateFailedError,
  type ApplicationFailure,
  type WorkflowHandle,
} from '@temporalio/client';
import {
  abortResizeSignal,
  confirmSignal,
  confirmUpdate,
  resizeStatusQuery,
  revertUpdate,
} from '../../workflows/resize-messages';
import type { ResizeInput, ResizeState } from '../../workflows/resize-contract';
import { fakePeer } from '../support/fake-live-migration-activities';
import { FakeResizeFleet } from '../support/fake-resize-activities';
import { workflowHarness, type Harness } from '../support/workflow-harness';

let harness: Harness;
beforeAll(async () => {
  harness = await workflowHarness();
});
afterAll(() => harness?.close());

/** A source and one other host, or the source alone. */
function fleet(hosts: 'two' | 'source-only' = 'two'): FakeResizeFleet {
  const id = randomUUID().slice(0, 8);
  const others = hosts === 'two' ? [`dst-${id}`] : [];
  return new FakeResizeFleet(`src-${id}`, [`src-${id}`, ...others]);
}

/** The fleet, whose control plane's resize_confirm_window is `seconds`. */
function withWindow(fakes: FakeResizeFleet, seconds: number): FakeResizeFleet {
  fakes.policy.resizeConfirmWindowSeconds = seconds;
  return fakes;
}

function runResize<T>(
  fakes: FakeResizeFleet,
  input: Partial<ResizeInput>,
  body: (handle: WorkflowHandle) => Promise<T>,
): Promise<T> {
  const size = { vcpus: 1, memoryMiB: 128, rootDiskGiB: 1 };
  const args: ResizeInput = {
    migrationUuid: randomUUID(),
    instanceUuid: randomUUID(),
    instanceName: 'vm',
    migrationType: 'resize',
    sourceHost: fakes.source,
    requestedHost: null,
    oldFlavorId: 'old',
    newFlavorId: 'new',
    oldSize: size,
    newSize: { ...size, vcpus: 2 },
    allowSameHost: false,
    shutdownTimeoutSeconds: 5,
    requestedBy: 'test',
    ...input,
  };
  return harness.runWorkflow(fakes, 'resize', [args], `instance-${args.instanceUuid}`, body);
}

async function verifyResize(handle: WorkflowHandle): Promise<ResizeState> {
  for (let i = 0; i < 200; i++) {
    const state = await handle.query(resizeStatusQuery).catch(() => undefined);
    if (state && ['finished', 'error'].includes(state.status)) return state;
    await sleep(50);
  }
  throw new Error('the resize never reached VERIFY_RESIZE');
}

async function failureOf(result: Promise<unknown>) {
  const error = await result.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  return (error as WorkflowFailedError).cause as ApplicationFailure;
}

describe('resize (mocked activities)', () => {
  it('waits in VERIFY_RESIZE and confirms; a revert after that is refused', async () => {
    const fakes = fleet();
    const [source, dest] = fakes.hosts;
    const state = await runResize(fakes, {}, async (handle) => {
      const waiting = await verifyResize(handle);
      expect(waiting).toMatchObject({ status: 'finished', destHost: dest, confirmDeadline: null });
      expect(fakes.instance).toMatchObject({ hostName: dest, vmState: 'resized', flavor: 'new' });
      expect(fakes.domains.get(source)).toBe('shutoff');
      expect(fakes.disks.get(source)).toBe('aside');
      const confirmed = await handle.executeUpdate(confirmUpdate);
      expect(confirmed.status).toBe('confirmed');
      const result = await handle.result();
      await expect(handle.executeUpdate(revertUpdate)).rejects.toThrow();
      return result;
    });
    expect(state).toMatchObject({ status: 'confirmed', confirmedBy: 'user' });
    expect(fakes.migration).toMatchObject({ status: 'confirmed', auto: false });
    expect([...fakes.domains.keys()]).toEqual([dest]);
    expect([...fakes.disks.keys()]).toEqual([dest]);
    expect(fakes.claims.size).toBe(0);
    // The source's agent reads no database: the copy names the destination's sshd and key.
    expect(fakes.copyPeers).toEqual([fakePeer(dest)]);
  });

  it('on shared storage copies the disks inside the instances dir, on the source, never over SSH', async () => {
    const fakes = fleet();
    fakes.sharedStorage = true;
    const [source, dest] = fakes.hosts;
    const state = await runResize(fakes, {}, async (handle) => {
      await verifyResize(handle);
      await handle.executeUpdate(confirmUpdate);
      return handle.result();
    });
    expect(state).toMatchObject({ status: 'confirmed', destHost: dest, copiedBytes: 1 << 20 });
    expect(fakes.calls.filter((c) => /Storage|copyDisk/.test(c))).toEqual([
      `${dest}:createStorageProbe`,
      `${source}:hasStorageProbe`,
      `${dest}:removeStorageProbe`,
      `${source}:copyDiskInSharedStorage`,
    ]);
    expect(fakes.confirmedShared).toEqual([true]);
  });

  it('reverts: nothing left on the destination, the source restored and running', async () => {
    const fakes = fleet();
    const [source] = fakes.hosts;
    const state = await runResize(fakes, {}, async (handle) => {
      await verifyResize(handle);
      await handle.executeUpdate(revertUpdate);
      return handle.result();
    });
    expect(state.status).toBe('reverted');
    expect(fakes.instance).toMatchObject({ hostName: source, flavor: 'old', vmState: 'active' });
    expect([...fakes.domains.entries()]).toEqual([[source, 'running']]);
    expect([...fakes.disks.entries()]).toEqual([[source, 'in-place']]);
  });

  it('resizes on its own host with allow_resize_to_same_host: no copy, disks kept in place', async () => {
    const fakes = fleet('source-only');
    const [source] = fakes.hosts;
    const state = await runResize(fakes, { allowSameHost: true }, async (handle) => {
      const waiting = await verifyResize(handle);
      expect(waiting).toMatchObject({ status: 'finished', destHost: source, copiedBytes: null });
      expect(fakes.instance).toMatchObject({ hostName: source, vmState: 'resized', flavor: 'new' });
      expect([...fakes.disks.entries()]).toEqual([[source, 'in-place']]);
      expect([...fakes.domains.entries()]).toEqual([[source, 'running']]);
      await handle.executeUpdate(confirmUpdate);
      return handle.result();
    });
    expect(state).toMatchObject({ status: 'confirmed', destHost: source });
    expect(fakes.calls.filter((c) => c.startsWith(`${source}:`))).toEqual([
      `${source}:powerOffAndSetAsideSource`,
      `${source}:finishResizeAtDestination`,
    ]);
    expect([...fakes.domains.entries()]).toEqual([[source, 'running']]);
    expect([...fakes.disks.entries()]).toEqual([[source, 'in-place']]);
    expect(fakes.claims.size).toBe(0);
  });

  it('reverts a same-host resize: the resized domain off, the old one defined and started', async () => {
    const fakes = fleet('source-only');
    const [source] = fakes.hosts;
    const state = await runResize(fakes, { allowSameHost: true }, async (handle) => {
      await verifyResize(handle);
      await handle.executeUpdate(revertUpdate);
      return handle.result();
    });
    expect(state.status).toBe('reverted');
    expect(fakes.calls.filter((c) => c.startsWith(`${source}:`))).toEqual([
      `${source}:powerOffAndSetAsideSource`,
      `${source}:finishResizeAtDestination`,
      `${source}:powerOffAndSetAsideSource`,
      `${source}:restoreSource`,
    ]);
    expect(fakes.instance).toMatchObject({ hostName: source, flavor: 'old', vmState: 'active' });
    expect([...fakes.domains.entries()]).toEqual([[source, 'running']]);
  });

  it('without allow_resize_to_same_host a lone source is no valid host, and nothing is touched', async () => {
    const fakes = fleet('source-only');
    const [source] = fakes.hosts;
    const failure = await runResize(fakes, {}, (handle) => failureOf(handle.result()));
    expect(failure.type).toBe('NoValidHost');
    expect(fakes.calls.some((c) => c.startsWith(`${source}:`))).toBe(false);
    expect(fakes.instance).toMatchObject({ hostName: source, flavor: 'old', taskState: null });
    expect(fakes.migration.status).toBe('error');
  });

  it('refuses confirm and revert before VERIFY_RESIZE', async () => {
    const fakes = fleet();
    let release = () => {};
    fakes.powerOffGate = new Promise((resolve) => (release = resolve));
    const state = await runResize(fakes, {}, async (handle) => {
      while (!fakes.calls.some((call) => call.endsWith(':powerOffAndSetAsideSource'))) {
        await sleep(20);
      }
      try {
        for (const update of [confirmUpdate, revertUpdate]) {
          const refused = await handle.executeUpdate(update).catch((e: unknown) => e);
          expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
          expect((refused as WorkflowUpdateFailedError).cause?.message).toMatch(
            /not in VERIFY_RESIZE \(migration migrating\)/,
          );
        }
      } finally {
        release();
      }
      await verifyResize(handle);
      await handle.executeUpdate(confirmUpdate);
      return handle.result();
    });
    expect(state.status).toBe('confirmed');
  });

  it('waits queued, the guest untouched, until the fleet has a migration slot', async () => {
    const fakes = fleet();
    const [source, dest] = fakes.hosts;
    fakes.slotFree = false;
    const state = await runResize(fakes, {}, async (handle) => {
      let asked = 0;
      while (asked < 2) {
        asked = fakes.calls.filter((call) => call === 'control.acquireMigrationSlot').length;
        await sleep(50);
      }
      expect(await handle.query(resizeStatusQuery)).toMatchObject({
        status: 'queued',
        destHost: dest,
      });
      expect(fakes.migration.status).toBe('queued');
      expect(fakes.instance.taskState).toBe('resize_prep');
      expect(fakes.calls.some((call) => call.startsWith(`${source}:`))).toBe(false);
      expect(fakes.domains.get(source)).toBe('running');
      fakes.slotFree = true;
      await verifyResize(handle);
      await handle.executeUpdate(confirmUpdate);
      return handle.result();
    });
    expect(state.status).toBe('confirmed');
    const slotAt = fakes.calls.lastIndexOf('control.acquireMigrationSlot');
    expect(slotAt).toBeLessThan(fakes.calls.indexOf(`${source}:powerOffAndSetAsideSource`));
  });

  it("a drain's cold move (confirmAtOnce) confirms as soon as the instance is on its destination", async () => {
    const fakes = fleet();
    const [source, dest] = fakes.hosts;
    const input = { migrationType: 'migration' as const, confirmAtOnce: true };
    const state = await runResize(fakes, input, (handle) => handle.result());
    expect(state).toMatchObject({ status: 'confirmed', destHost: dest });
    expect(fakes.calls).toContain(`${source}:confirmResizeAtSource`);
    expect([...fakes.domains.keys()]).toEqual([dest]);
    expect(fakes.claims.size).toBe(0);
  });

  it("a drain's abort signal before the destination rolls the move back to the source", async () => {
    const fakes = fleet();
    const [source] = fakes.hosts;
    let release = () => {};
    fakes.powerOffGate = new Promise((resolve) => (release = resolve));
    const input = { migrationType: 'migration' as const, confirmAtOnce: true };
    const failure = await runResize(fakes, input, async (handle) => {
      while (!fakes.calls.some((call) => call.endsWith(':powerOffAndSetAsideSource'))) {
        await sleep(20);
      }
      await handle.signal(abortResizeSignal);
      release();
      return failureOf(handle.result());
    });
    expect(failure.type).toBe('MigrationError');
    expect(fakes.instance).toMatchObject({ hostName: source, taskState: null });
    expect([...fakes.domains.entries()]).toEqual([[source, 'running']]);
    expect([...fakes.disks.entries()]).toEqual([[source, 'in-place']]);
    expect(fakes.claims.size).toBe(0);
  });

  it('confirms by itself when resize_confirm_window passes, and says so', async () => {
    const fakes = fleet();
    const asked = Date.now();
    const state = await runResize(withWindow(fakes, 2), {}, async (handle) => {
      const waiting = await verifyResize(handle);
      // The window runs from the finish, which came after the request.
      expect(Date.parse(waiting.confirmDeadline as string)).toBeGreaterThanOrEqual(asked + 2000);
      return handle.result();
    });
    expect(state).toMatchObject({ status: 'confirmed', confirmedBy: 'auto-confirm' });
    expect(fakes.migration.auto).toBe(true);
  });

  it('with a window of 0 waits until asked (here by the confirm signal)', async () => {
    const fakes = fleet();
    await runResize(withWindow(fakes, 0), {}, async (handle) => {
      await verifyResize(handle);
      // No timer armed (a window would be one): only a decision ends VERIFY_RESIZE.
      const { events } = await handle.fetchHistory();
      expect((events ?? []).filter((event) => event.timerStartedEventAttributes)).toEqual([]);
      expect((await handle.query(resizeStatusQuery)).status).toBe('finished');
      await handle.signal(confirmSignal);
      expect(await handle.result()).toMatchObject({ status: 'confirmed', confirmedBy: 'user' });
    });
  });

  it('a revert racing the window ends in exactly one of revert or auto-confirm', async () => {
    const fakes = fleet();
    const state = await runResize(withWindow(fakes, 1), {}, async (handle) => {
      await verifyResize(handle);
      await sleep(900);
      const reverted = await handle.executeUpdate(revertUpdate).then(
        () => true,
        () => false,
      );
      const final = (await handle.result()) as ResizeState;
      expect(final.status).toBe(reverted ? 'reverted' : 'confirmed');
      return final;
    });
    const decisions = fakes.calls.filter((c) => /confirmResize$|revertResize$/.test(c));
    expect(decisions).toEqual([
      state.status === 'reverted' ? 'control.revertResize' : 'control.confirmResize',
    ]);
  });

  const steps = [
    'powerOffAndSetAsideSource',
    'copyDiskToHost',
    'finishResizeAtDestination',
    'finishResize',
  ];
  it.each(steps)(
    'a failure at %s puts the instance back on its source, untouched',
    async (activity) => {
      const fakes = fleet();
      const [source] = fakes.hosts;
      fakes.failures.push({ activity });
      const failure = await runResize(fakes, {}, (handle) => failureOf(handle.result()));
      expect(failure.message).toMatch(`injected failure at ${activity}`);
      expect(fakes.migration.status).toBe('error');
      expect(fakes.instance).toMatchObject({
        hostName: source,
        taskState: null,
        vmState: 'active',
      });
      expect(fakes.domains.get(source)).toBe('running');
      expect([...fakes.disks.entries()]).toEqual([[source, 'in-place']]);
      expect(fakes.claims.size).toBe(0);
    },
  );

  it('a failed confirm leaves the instance in ERROR with the reason', async () => {
    const fakes = fleet();
    fakes.failures.push({ activity: 'confirmResizeAtSource' });
    const failure = await runResize(fakes, {}, async (handle) => {
      await verifyResize(handle);
      await handle.executeUpdate(confirmUpdate).catch(() => undefined);
      return failureOf(handle.result());
    });
    expect(failure.message).toMatch(/confirm_resize failed: injected failure/);
    expect(fakes.instance.vmState).toBe('error');
  });
});
