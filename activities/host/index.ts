import type { LiveMigrationHostActivities } from '../../workflows/live-migration-contract';
import type { MigrationProgress } from '../../workflows/live-migration-contract';
import type { ResizeHostActivities } from '../../workflows/resize-contract';
import type { HypervisorInfo } from '../../workflows/refresh-hosts-contract';
import { hypervisorInfo } from '../../virt/libvirt/binding';
import type { Hypervisor } from '../../virt/driver';
import { createLiveMigrationActivities } from './live-migration';
import type { LiveMigrationSettings } from './live-migration/settings';
import { createResizeActivities } from './resize';
import type { PeerAccess } from './resize/peer-access';

/** What a host agent's activities know of the host they serve and the agent around them. */
export interface HostAgentContext {
  /** The host's name, as registered (its Host row). */
  hostName: string;
  /** The hypervisor driver: libvirt on a compute host, the simulated one in benchmarks. */
  hypervisor: Hypervisor;
  /** The libvirt URI of the host this agent serves, from its Host row. */
  libvirtUri: string;
  /** The host's instances dir, from its Host row: every disk ferry touches lies inside it. */
  instancesDir: string;
  liveMigration: LiveMigrationSettings;
  /**
   * Saves a running migration's progress (its Migration row) and tells its workflow. Called from
   * inside the migrating activity; the live-migration monitor logs its failures and carries on.
   */
  reportProgress(migrationUuid: string, progress: MigrationProgress): Promise<void>;
  /** How this host reaches other hosts' sshd to copy disks (resize); without it, no copies. */
  peers?: PeerAccess;
}

/** Every activity of a host agent's task queue (`ferry-host-NAME`). */
export function createHostActivities(context: HostAgentContext) {
  return {
    async describeHypervisor(): Promise<HypervisorInfo> {
      return context.hypervisor.withConnection(context.libvirtUri, hypervisorInfo);
    },
    ...createLiveMigrationActivities(context),
    ...createResizeActivities(context),
  } satisfies { describeHypervisor(): Promise<HypervisorInfo> } & LiveMigrationHostActivities &
    ResizeHostActivities;
}

export type HostActivities = ReturnType<typeof createHostActivities>;
