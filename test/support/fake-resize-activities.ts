/**
 * MOCK activities for the resize workflow's unit tests: an in-memory control plane and hosts that
 * record every call and fail at exactly the step a test names. Only unit tests use them.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { LiveMigrationHostActivities } from '../../workflows/live-migration-contract';
import type { OperationControlActivities } from '../../workflows/operation-types';
import type {
  ResizeControlActivities,
  ResizeHostActivities,
} from '../../workflows/resize-contract';
import { fakePeer, fakePolicy } from './fake-live-migration-activities';

type Control = Pick<
  OperationControlActivities,
  | 'setMigrationStatus'
  | 'recordActionEvent'
  | 'selectDestinations'
  | 'claimResources'
  | 'releaseClaims'
  | 'acquireMigrationSlot'
  | 'describeHost'
  | 'describePolicy'
> &
  ResizeControlActivities;

export class FakeResizeFleet {
  readonly calls: string[] = [];
  readonly failures: { activity: string; host?: string }[] = [];
  readonly migration = { status: 'pre-migrating', error: null as string | null, auto: false };
  readonly instance = {
    taskState: null as string | null,
    vmState: 'active',
    hostName: '',
    flavor: 'old',
  };
  readonly claims = new Set<string>();
  /** Where a domain of the instance is defined, and whether it runs. */
  readonly domains = new Map<string, 'running' | 'shutoff'>();
  /** Hosts holding the instance's disks (aside or in place). */
  readonly disks = new Map<string, 'in-place' | 'aside'>();
  /** Whether the fleet has a migration slot for this resize (max_concurrent_migrations). */
  slotFree = true;
  /** Whether the source's power-off waits until released (to act while the resize runs). */
  powerOffGate: Promise<void> | undefined;
  policy = fakePolicy();
  /** The destination each disk copy was told to reach. */
  readonly copyPeers: unknown[] = [];

  constructor(
    readonly source: string,
    readonly hosts: string[],
  ) {
    this.instance.hostName = source;
    this.domains.set(source, 'running');
    this.disks.set(source, 'in-place');
  }

  private enter(name: string, host?: string): void {
    this.calls.push(host ? `${host}:${name}` : `control.${name}`);
    if (
      this.failures.some((f) => f.activity === name && (f.host === undefined || f.host === host))
    ) {
      throw ApplicationFailure.create({
        type: 'MigrationError',
        nonRetryable: true,
        message: `injected failure at ${name}`,
      });
    }
  }

  controlActivities(): Control {
    return {
      setMigrationStatus: async (update) => {
        this.enter('setMigrationStatus');
        this.migration.status = update.status;
      },
      recordActionEvent: async () => undefined,
      describeHost: async ({ host }) => fakePeer(host),
      describePolicy: async () => {
        this.enter('describePolicy');
        return this.policy;
      },
      selectDestinations: async (request) => {
        this.enter('selectDestinations');
        if (request.requestedHost !== null) return [request.requestedHost];
        const candidates = this.hosts.filter(
          (h) => !request.exclude.includes(h) && (h !== this.source || request.allowSameHost),
        );
        if (candidates.length === 0) {
          throw ApplicationFailure.create({
            type: 'NoValidHost',
            nonRetryable: true,
            message: 'no host can hold the instance',
          });
        }
        return candidates;
      },
      claimResources: async ({ host }) => {
        this.enter('claimResources');
        this.claims.add(host);
      },
      releaseClaims: async () => {
        this.enter('releaseClaims');
        this.claims.clear();
      },
      acquireMigrationSlot: async () => {
        this.enter('acquireMigrationSlot');
        if (this.slotFree) this.migration.status = 'migrating';
        return this.slotFree;
      },
      beginResize: async () => {
        this.enter('beginResize');
        if (this.instance.taskState !== null) {
          throw ApplicationFailure.create({
            type: 'InstanceInvalidState',
            nonRetryable: true,
            message: `instance is in task_state ${this.instance.taskState}`,
          });
        }
        this.instance.taskState = 'resize_prep';
      },
      setResizeProgress: async ({ status, taskState }) => {
        this.enter('setResizeProgress');
        this.migration.status = status;
        this.instance.taskState = taskState;
      },
      finishResize: async ({ destHost }) => {
        this.enter('finishResize');
        Object.assign(this.instance, {
          hostName: destHost,
          flavor: 'new',
          vmState: 'resized',
          taskState: null,
        });
        this.migration.status = 'finished';
      },
      confirmResize: async ({ auto }) => {
        this.enter('confirmResize');
        Object.assign(this.instance, { vmState: 'active', taskState: null });
        Object.assign(this.migration, { status: 'confirmed', auto });
        this.claims.clear();
      },
      revertResize: async () => {
        this.enter('revertResize');
        Object.assign(this.instance, {
          hostName: this.source,
          flavor: 'old',
          vmState: 'active',
          taskState: null,
        });
        this.migration.status = 'reverted';
        this.claims.clear();
      },
      failResize: async ({ error, instanceError }) => {
        this.enter('failResize');
        this.instance.taskState = null;
        if (instanceError) this.instance.vmState = 'error';
        Object.assign(this.migration, { status: 'error', error });
        this.claims.clear();
      },
    };
  }

  /** Whether the hosts' storage probes see each other's files (one shared instances dir). */
  sharedStorage = false;
  /** The `sharedStorage` of each confirmResizeAtSource request. */
  readonly confirmedShared: (boolean | undefined)[] = [];

  hostActivities(
    host: string,
  ): ResizeHostActivities &
    Pick<LiveMigrationHostActivities, 'hasStorageProbe' | 'removeStorageProbe'> {
    const disk = {
      target: 'vda',
      path: '/i/vm/disk.qcow2',
      format: 'qcow2',
      virtualSizeBytes: 1 << 20,
    };
    return {
      powerOffAndSetAsideSource: async ({ setAside }) => {
        this.enter('powerOffAndSetAsideSource', host);
        await this.powerOffGate;
        this.domains.set(host, 'shutoff');
        if (setAside) this.disks.set(host, 'aside');
        return {
          domainXml: '<domain/>',
          disks: [disk],
          asideDir: setAside ? '/i/vm_resize' : null,
          powerOff: 'graceful',
          wasRunning: true,
        };
      },
      createStorageProbe: async () => {
        this.enter('createStorageProbe', host);
        return { storageProbe: `probe-${host}` };
      },
      hasStorageProbe: async () => {
        this.enter('hasStorageProbe', host);
        return this.sharedStorage;
      },
      removeStorageProbe: async () => {
        this.enter('removeStorageProbe', host);
      },
      copyDiskInSharedStorage: async () => {
        this.enter('copyDiskInSharedStorage', host);
        return { bytesCopied: 1 << 20 };
      },
      copyDiskToHost: async ({ destHost, dest }) => {
        this.enter('copyDiskToHost', host);
        this.copyPeers.push(dest);
        this.disks.set(destHost, 'in-place');
        return { bytesSent: 1 << 20, digest: 'd' };
      },
      finishResizeAtDestination: async () => {
        this.enter('finishResizeAtDestination', host);
        this.domains.set(host, 'running');
        return { domainXml: '<domain/>' };
      },
      removeResizedInstance: async () => {
        this.enter('removeResizedInstance', host);
        this.domains.delete(host);
        this.disks.delete(host);
      },
      confirmResizeAtSource: async ({ sharedStorage }) => {
        this.enter('confirmResizeAtSource', host);
        this.confirmedShared.push(sharedStorage);
        this.domains.delete(host);
        this.disks.delete(host);
      },
      restoreSource: async () => {
        this.enter('restoreSource', host);
        this.disks.set(host, 'in-place');
        this.domains.set(host, 'running');
      },
    };
  }
}
