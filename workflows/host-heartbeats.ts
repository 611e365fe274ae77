/**
 * The control plane's heartbeat of the hosts (docs/host-liveness.md): every report_interval, each
 * registered host's agent is asked to answer on its own task queue, and the hosts that answered
 * are recorded. A host whose agent stays silent for service_down_time is down. One long-running
 * workflow per namespace, continuing as new before its history grows large. A host that answers
 * again after its instances were evacuated is asked to destroy their stale domains
 * (docs/evacuate.md, "The source comes back").
 */
import {
  continueAsNew,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { EvacuateControlActivities, EvacuateHostActivities } from './evacuate-contract';
import { failureMessage } from './failures';
import type {
  HeartbeatHostActivities,
  HostHeartbeatControlActivities,
} from './host-heartbeats-contract';
import { hostTaskQueue } from './task-queues';

const control = proxyLocalActivities<HostHeartbeatControlActivities>({
  startToCloseTimeout: '30s',
  retry: { maximumInterval: '30s' },
});

/** An agent that does not answer within this is silent this round; the next round asks again. */
function agentOf(host: string) {
  return proxyActivities<HeartbeatHostActivities>({
    taskQueue: hostTaskQueue(host),
    scheduleToCloseTimeout: '5s',
    retry: { maximumAttempts: 1 },
  });
}

const evacuateControl = proxyLocalActivities<EvacuateControlActivities>({
  startToCloseTimeout: '30s',
  retry: { maximumInterval: '30s' },
});

/** A returning host whose libvirt is not up yet is asked again next round. */
function cleaningAgent(host: string) {
  return proxyActivities<EvacuateHostActivities>({
    taskQueue: hostTaskQueue(host),
    scheduleToCloseTimeout: '30s',
    retry: { maximumAttempts: 1 },
  });
}

/** Workflows started before keep their rounds' commands as they were. */
const CLEAN_EVACUATED_SOURCES = 'clean-evacuated-sources';

/**
 * Nova's _destroy_evacuated_instances, asked by the control plane since agents read no database:
 * each domain an answering host still has of an instance evacuated from it is destroyed and
 * undefined there, its disks untouched (they are the instance's, now used elsewhere).
 */
async function cleanEvacuatedSources(answered: string[]): Promise<void> {
  const stale = await evacuateControl.evacuatedDomains({ hosts: answered });
  await Promise.all(
    stale.map(async ({ host, instanceUuid, migrationUuid }) => {
      try {
        await cleaningAgent(host).destroyEvacuatedInstance({ instanceUuid });
        await evacuateControl.evacuationSourceCleaned({ migrationUuid });
      } catch (error) {
        log.warn('stale domain of an evacuated instance not destroyed yet', {
          host,
          instanceUuid,
          error: failureMessage(error),
        });
      }
    }),
  );
}

/** A run's history stays well under Temporal's 10,240-event warning, even with many hosts. */
const HISTORY_LIMIT = 2_000;

export async function hostHeartbeats(): Promise<void> {
  for (;;) {
    const round = await control.listHeartbeatHosts();
    const answers = await Promise.all(
      round.hosts.map((host) =>
        agentOf(host)
          .heartbeat()
          .then(
            () => host,
            () => undefined,
          ),
      ),
    );
    const answered = answers.filter((host): host is string => host !== undefined);
    if (answered.length > 0) {
      await control.recordHeartbeats({ hosts: answered });
      if (patched(CLEAN_EVACUATED_SOURCES)) await cleanEvacuatedSources(answered);
    }
    const info = workflowInfo();
    if (info.historyLength >= HISTORY_LIMIT || info.continueAsNewSuggested) {
      await continueAsNew<typeof hostHeartbeats>();
    }
    await sleep(round.reportIntervalSeconds * 1000);
  }
}
