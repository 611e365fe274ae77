import type {
  LiveMigrationHostActivities,
  MigrationProgress,
} from '../../workflows/live-migration-contract';
import type { ResizeHostActivities } from '../../workflows/resize-contract';
import type { HypervisorInfo } from '../../workflows/refresh-hosts-contract';
import { hypervisorInfo, withConnection } from '../../virt/libvirt/binding';
import { createLiveMigrationActivities } from './live-migration';
import type { LiveMigrationSettings } from './live-migration/settings';
import { createResizeActivities } from './resize';
import type { PeerAccess } from './resize/peer-access';

/** What a host agent's activities know of the host they serve and the agent around them. */
export interface HostAgentContext {
  /** The host's name, as registered (its Host row). */
  hostName: string;
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
      return withConnection(context.libvirtUri, hypervisorInfo);
    },
    ...createLiveMigrationActivities(context),
    ...createResizeActivities(context),
  } satisfies { describeHypervisor(): Promise<HypervisorInfo> } & LiveMigrationHostActivities &
    ResizeHostActivities;
}

export type HostActivities = ReturnType<typeof createHostActivities>;
