import type {
  LiveMigrationHostActivities,
  MigrationProgress,
} from '../../workflows/live-migration-contract';
import type { ResizeHostActivities } from '../../workflows/resize-contract';
import type { HypervisorInfo } from '../../workflows/refresh-hosts-contract';
import type { HeartbeatHostActivities } from '../../workflows/host-heartbeats-contract';
import { hypervisorInfo } from '../../virt/libvirt/binding';
import type { Hypervisor } from '../../virt/driver';
import type { EvacuateHostActivities } from '../../workflows/evacuate-contract';
import { createEvacuateActivities } from './evacuate';
import { keepingConnection } from './kept-connection';
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
  /** The libvirt URI of the host this agent serves, from the agent's own configuration. */
  libvirtUri: string;
  /** The host's instances dir, from the agent's configuration: every disk ferry touches lies inside it. */
  instancesDir: string;
  liveMigration: LiveMigrationSettings;
  /**
   * Tells a running migration's workflow its progress, which the control plane then saves (the
   * agent has no database). Called from inside the migrating activity; the live-migration monitor
   * logs its failures and carries on.
   */
  reportProgress(migrationUuid: string, progress: MigrationProgress): Promise<void>;
  /** How this host reaches other hosts' sshd to copy disks (resize); without it, no copies. */
  peers?: PeerAccess;
}

/**
 * Every activity of a host agent's task queue (`ferry-host-NAME`), on one kept connection to the
 * host's own libvirt (kept-connection.ts).
 */
export function createHostActivities(agent: HostAgentContext) {
  const context = { ...agent, hypervisor: keepingConnection(agent.hypervisor, agent.libvirtUri) };
  return {
    /** The agent answers: it polls its queue and runs activities (docs/host-liveness.md). */
    heartbeat(): Promise<{ host: string }> {
      return Promise.resolve({ host: context.hostName });
    },
    async describeHypervisor(): Promise<HypervisorInfo> {
      const info = await context.hypervisor.withConnection(context.libvirtUri, hypervisorInfo);
      return { ...info, instancesDir: context.instancesDir };
    },
    ...createLiveMigrationActivities(context),
    ...createResizeActivities(context),
    ...createEvacuateActivities(context),
  } satisfies { describeHypervisor(): Promise<HypervisorInfo> } & HeartbeatHostActivities &
    LiveMigrationHostActivities &
    ResizeHostActivities &
    EvacuateHostActivities;
}

export type HostActivities = ReturnType<typeof createHostActivities>;
