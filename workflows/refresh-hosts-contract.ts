/**
 * The contract of the refreshHosts workflow: what a hypervisor reports and the activities that
 * ask and record it. Pure declarations, safe for workflow code.
 */

/** What a host's hypervisor reports about itself (Nova's os-hypervisors fields). */
export interface HypervisorInfo {
  arch: string;
  hypervisorType: string;
  hypervisorVersion: number;
  cpuModel: string;
  vcpus: number;
  memoryMiB: number;
  /**
   * The instances dir the agent is configured with, which must be its Host row's (peers copy
   * disks there); absent when the reporter has none (a simulated host).
   */
  instancesDir?: string;
}

export interface HostInventory extends HypervisorInfo {
  host: string;
}

export interface RefreshHostsResult {
  refreshed: HostInventory[];
  failed: { host: string; error: string }[];
}

/** The control activities the refreshHosts workflow calls. */
export interface HostInventoryControlActivities {
  /** Hosts whose agent should answer: every host not marked down. */
  listReachableHosts(): Promise<string[]>;
  /**
   * Records what a host's hypervisor reported on its Host row; HostNotFound if unregistered,
   * HostMisconfigured when the agent's instances dir is not the row's.
   */
  saveHostInventory(inventory: HostInventory): Promise<void>;
}

/** The host activity the refreshHosts workflow calls on each agent. */
export interface HypervisorHostActivities {
  describeHypervisor(): Promise<HypervisorInfo>;
}
