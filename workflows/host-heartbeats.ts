/**
 * The control plane's heartbeat of the hosts (docs/host-liveness.md): every report_interval, each
 * registered host's agent is asked to answer on its own task queue, and the hosts that answered
 * are recorded. A host whose agent stays silent for service_down_time is down. One long-running
 * workflow per namespace, continuing as new before its history grows large.
 */
import {
  continueAsNew,
  proxyActivities,
  proxyLocalActivities,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
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
    if (answered.length > 0) await control.recordHeartbeats({ hosts: answered });
    const info = workflowInfo();
    if (info.historyLength >= HISTORY_LIMIT || info.continueAsNewSuggested) {
      await continueAsNew<typeof hostHeartbeats>();
    }
    await sleep(round.reportIntervalSeconds * 1000);
  }
}
