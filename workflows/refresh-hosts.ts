import { log, proxyActivities } from '@temporalio/workflow';
import { failureMessage } from './failures';
import { hostTaskQueue } from './task-queues';
import type {
  HostInventory,
  HostInventoryControlActivities,
  HypervisorHostActivities,
  RefreshHostsResult,
} from './refresh-hosts-contract';

const control = proxyActivities<HostInventoryControlActivities>({
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 5 },
});

/** The agent of each host, reached on that host's own task queue. */
function agentOf(host: string) {
  return proxyActivities<HypervisorHostActivities>({
    taskQueue: hostTaskQueue(host),
    scheduleToCloseTimeout: '60s',
    startToCloseTimeout: '20s',
    retry: { maximumAttempts: 3 },
  });
}

/**
 * Asks every reachable host's agent what its hypervisor is (arch, type, version, CPU model,
 * memory) and records it on the Host row, like Nova's update_available_resource.
 */
export async function refreshHosts(): Promise<RefreshHostsResult> {
  const hosts = await control.listReachableHosts();
  const refreshed: HostInventory[] = [];
  const failed: RefreshHostsResult['failed'] = [];
  await Promise.all(
    hosts.map(async (host) => {
      try {
        const info = await agentOf(host).describeHypervisor();
        const inventory = { host, ...info };
        await control.saveHostInventory(inventory);
        refreshed.push(inventory);
      } catch (error) {
        const message = failureMessage(error);
        log.warn('host refresh failed', { host, error: message });
        failed.push({ host, error: message });
      }
    }),
  );
  return { refreshed, failed };
}
