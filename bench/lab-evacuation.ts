/**
 * Evacuation on a two-host shared-storage lab (part of bench/lab.ts): what a dead host's outage
 * costs a guest, from the evacuate request accepted (through the start helper the CLI and API
 * use) to the guest's first counter line on its new host (docs/evacuate.md). A guest with a disk
 * counts on one host; that host is killed as a power cut would (`ferry lab kill-host`) and forced
 * down, as the operator who fenced it would. Between runs the dead host is started again, its
 * stale definition destroyed by the control plane, and it is forced up and enabled: the next run
 * evacuates the guest back, so every run is alike.
 */
import { rm } from 'node:fs/promises';
import { changeHostService } from '../client/host-service';
import { startEvacuation } from '../client/start-evacuation';
import { bootLabInstance, killLabHost, restartLabHost } from '../lab/fleet';
import { readCounter } from '../lab/guest';
import { guestFiles } from '../lab/guest-domain';
import { rootNamespacePath } from '../lab/layout';
import { waitFor } from '../lab/processes';
import type { LabHost } from '../lab/state';
import { median } from '../test/support/statistics';
import type { EvacuationState } from '../workflows/evacuate-contract';
import { counting, STEP_TIMEOUT_MS, withLabStack, type LabBench } from './lab-stack';
import { log } from './measure';

const GUEST = 'evacuee';

interface EvacuationRun {
  /** Accepted → the guest's first counter line on the destination. */
  firstCounterMs: number;
  /** Accepted → the workflow `done` (the domain defined and started). */
  doneMs: number;
}

async function evacuateOnce(bench: LabBench): Promise<EvacuationRun> {
  const { hostName: source } = await bench.db.instance.findUniqueOrThrow({
    where: { name: GUEST },
  });
  const dest = Object.values(bench.hosts).find((host) => host.name !== source) as LabHost;
  await killLabHost(bench.config, source);
  await changeHostService(bench.db, source, { forcedDown: true });
  // The dead guest's console log (one file on the shared dir) out of the way: the first counter
  // line there is then the evacuated guest's.
  const serialLog = rootNamespacePath(dest.rootPath, guestFiles(GUEST).serialLog);
  await rm(serialLog);

  const evacuation = await startEvacuation(bench.db, bench.client, bench.config, {
    instance: GUEST,
    requestedBy: 'bench',
  });
  const accepted = performance.now();
  const done = bench.client.workflow
    .getHandle(evacuation.workflowId)
    .result()
    .then((state: EvacuationState) => {
      if (state.status !== 'done') throw new Error(`evacuation ${state.status}: ${state.error}`);
      return performance.now() - accepted;
    });
  // Fails at once if the workflow does, rather than after the counter's timeout.
  const firstCounterMs = await Promise.race([
    waitFor(
      `${GUEST}'s first counter line on ${dest.name}`,
      async () => ((await readCounter(serialLog)) === undefined ? undefined : true),
      STEP_TIMEOUT_MS,
    ).then(() => performance.now() - accepted),
    done.then(() => new Promise<never>(() => undefined)),
  ]);
  const doneMs = await done;
  await counting(dest, GUEST);

  await restartLabHost(bench.config, source);
  await waitFor(
    `${source} destroying its stale definition of ${GUEST}`,
    async () =>
      (await bench.db.migration.findUniqueOrThrow({ where: { uuid: evacuation.migrationUuid } }))
        .status === 'completed'
        ? true
        : undefined,
    STEP_TIMEOUT_MS,
  );
  await changeHostService(bench.db, source, { forcedDown: false, status: 'enabled' });
  return { firstCounterMs, doneMs };
}

/** `runs` evacuations of one guest between the two hosts of a shared-storage lab. */
export async function evacuations(runs: number) {
  // Heartbeats every second: the restarted host is back up, and cleaned, within seconds.
  return withLabStack(
    2,
    { FERRY_REPORT_INTERVAL: '1' },
    async (bench) => {
      await bootLabInstance(bench.config, { name: GUEST, host: 'host1', diskMb: 32 });
      await counting(bench.hosts.host1, GUEST);
      const perRun: EvacuationRun[] = [];
      for (let i = 1; i <= runs; i += 1) {
        perRun.push(await evacuateOnce(bench));
        const { firstCounterMs, doneMs } = perRun[perRun.length - 1];
        log(
          `evacuation run ${i}: first counter line ${Math.round(firstCounterMs)} ms, done ${Math.round(doneMs)} ms`,
        );
      }
      const seconds = (ms: number) => Math.round(ms / 10) / 100;
      return {
        medianSeconds: seconds(median(perRun.map((r) => r.firstCounterMs))),
        perRunSeconds: perRun.map((r) => seconds(r.firstCounterMs)),
        doneMedianSeconds: seconds(median(perRun.map((r) => r.doneMs))),
        donePerRunSeconds: perRun.map((r) => seconds(r.doneMs)),
      };
    },
    { sharedStorage: true },
  );
}
