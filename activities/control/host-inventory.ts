import { ApplicationFailure } from '@temporalio/common';
import type {
  HostInventory,
  HostInventoryControlActivities,
} from '../../workflows/refresh-hosts-contract';
import type { Database } from '../../db/database';

/** Control activities that read and record what each host's hypervisor reports. */
export function hostInventoryActivities(db: Database): HostInventoryControlActivities {
  return {
    async listReachableHosts(): Promise<string[]> {
      const hosts = await db.host.findMany({
        where: { state: { not: 'down' } },
        select: { name: true },
        orderBy: { name: 'asc' },
      });
      return hosts.map((host) => host.name);
    },

    async saveHostInventory(inventory: HostInventory): Promise<void> {
      const row = await db.host.findUnique({
        where: { name: inventory.host },
        select: { instancesDir: true },
      });
      if (
        row &&
        inventory.instancesDir !== undefined &&
        inventory.instancesDir !== row.instancesDir
      ) {
        throw ApplicationFailure.nonRetryable(
          `host ${inventory.host}: its agent's instances dir is ${inventory.instancesDir}, ` +
            `its Host row's ${row.instancesDir}; set FERRY_INSTANCES_DIR or the row to match`,
          'HostMisconfigured',
        );
      }
      const { count } = await db.host.updateMany({
        where: { name: inventory.host },
        data: {
          arch: inventory.arch,
          hypervisorType: inventory.hypervisorType,
          hypervisorVersion: inventory.hypervisorVersion,
          cpuModel: inventory.cpuModel,
          vcpusTotal: inventory.vcpus,
          memoryMiBTotal: inventory.memoryMiB,
          lastHeartbeatAt: new Date(),
        },
      });
      if (count === 0) {
        throw ApplicationFailure.nonRetryable(
          `host ${inventory.host} is not registered`,
          'HostNotFound',
        );
      }
    },
  };
}
