/**
 * MOCK activities for the workflow unit tests: an in-memory control plane and in-memory hosts that
 * satisfy the activity interfaces, record every call, and fail at exactly the step a test names.
 * Only unit tests use them; integration and e2e tests run the real activities.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type {
  LiveMigrationControlActivities,
  LiveMigrationHostActivities,
  DomainPresence,
  MigrationProgress,
  MigrationResult,
  SourceFacts,
} from '../../workflows/live-migration-contract';
import type {
  ActionEventRecord,
  MigrationErrorType,
  OperationControlActivities,
  OperationPolicy,
} from '../../workflows/operation-types';

/** The control worker's policy the fakes answer with, unless a test sets its own. */
export function fakePolicy(): OperationPolicy {
  return { resizeConfirmWindowSeconds: 0, maxConcurrentLiveMigrations: 1, schedulerMaxAttempts: 3 };
}

/** A PeerHost row of a fake host. */
export function fakePeer(host: string) {
  return {
    name: host,
    libvirtUri: `qemu+tcp://${host}/system`,
    sshAddress: `${host}.example`,
    sshPort: 22,
    sshHostKey: 'ssh-ed25519 AAAA',
    instancesDir: '/i',
  };
}

export const PROGRESS_DONE: MigrationProgress = {
  memoryTotalBytes: 128 << 20,
  memoryProcessedBytes: 128 << 20,
  memoryRemainingBytes: 0,
  diskTotalBytes: 0,
  diskProcessedBytes: 0,
  diskRemainingBytes: 0,
  percent: 100,
  postCopy: false,
};

/** A failure a test injects: at the named activity, with a Nova type (non-retryable). */
export interface InjectedFailure {
  activity: string;
  /** Only on this host's queue (host activities). */
  host?: string;
  type?: MigrationErrorType;
  message?: string;
}

export class FakeFleet {
  /** Every activity call, in order: "control.name" or "host:name". */
  readonly calls: string[] = [];
  readonly failures: InjectedFailure[] = [];
  readonly migration = {
    status: 'accepted',
    destHost: null as string | null,
    error: null as string | null,
  };
  readonly instance = {
    taskState: null as string | null,
    vmState: 'active',
    hostName: '',
    progress: 0,
  };
  readonly claims = new Set<string>();
  readonly events: { event: string; phase: string; result?: string }[] = [];
  /** The calls and the action events together, in order: "start:event", "finish:event". */
  readonly timeline: string[] = [];
  /** Where each host's libvirt has the instance. */
  readonly presence = new Map<string, DomainPresence>();
  /** Migration slots: false keeps the migration queued. */
  slotFree = true;
  policy = fakePolicy();
  /** Every progress the control plane saved, with the migration's status at the time. */
  readonly savedProgress: { progress: MigrationProgress; status: string }[] = [];
  /** How the migration behaves: complete after a short while, or run until cancelled. */
  migrateMode: 'complete' | 'run-until-cancelled' | 'lands-then-fails' = 'complete';
  /** Whether prepare waits until released (to abort while preparing). */
  prepareGate: Promise<void> | undefined;
  /** Whether the source pre-check waits until released (to ask while the migration is accepted). */
  sourceCheckGate: Promise<void> | undefined;
  migrationAborted = false;
  forcedWith: string | null = null;
  readonly refusingHosts = new Map<string, MigrationErrorType>();

  constructor(
    readonly source: string,
    readonly hosts: string[],
  ) {
    this.instance.hostName = source;
    this.presence.set(source, 'running');
  }

  private enter(name: string, host?: string): void {
    this.calls.push(host ? `${host}:${name}` : `control.${name}`);
    this.timeline.push(this.calls[this.calls.length - 1]);
    const failure = this.failures.find(
      (f) => f.activity === name && (f.host === undefined || f.host === host),
    );
    if (failure) {
      throw ApplicationFailure.create({
        type: failure.type ?? 'MigrationError',
        nonRetryable: true,
        message: failure.message ?? `injected failure at ${name}`,
      });
    }
  }

  private recordEvent(record: ActionEventRecord): void {
    this.events.push({ event: record.event, phase: record.phase, result: record.result });
    this.timeline.push(`${record.phase}:${record.event}`);
  }

  controlActivities(): OperationControlActivities & LiveMigrationControlActivities {
    const steps = this.singleSteps();
    return {
      ...steps,
      // The merged steps, made of the single ones as the control worker's are.
      beginLiveMigration: async ({ migrationUuid, requestedBy, events }) => {
        await steps.beginInstanceOperation({
          migrationUuid,
          requestedBy,
          taskState: 'migrating',
          action: 'live-migration',
        });
        await steps.recordActionEvents(events ?? []);
        return steps.describePolicy();
      },
      queueMigration: async ({ migrationUuid, destHost, limit, events, eventsOnSlot }) => {
        await steps.setMigrationStatus({ migrationUuid, status: 'queued', destHost });
        const acquired = await steps.acquireMigrationSlot({ migrationUuid, limit });
        await steps.recordActionEvents([
          ...(events ?? []),
          ...(acquired ? (eventsOnSlot ?? []) : []),
        ]);
        return acquired;
      },
      startLiveMigration: async ({ migrationUuid, destHost, events }) => {
        const peer = await steps.describeHost({ host: destHost });
        await steps.setMigrationStatus({ migrationUuid, status: 'running', destHost, events });
        return peer;
      },
    };
  }

  private singleSteps(): OperationControlActivities &
    Omit<
      LiveMigrationControlActivities,
      'beginLiveMigration' | 'queueMigration' | 'startLiveMigration'
    > {
    return {
      beginInstanceOperation: async (request) => {
        this.enter('beginInstanceOperation');
        if (this.instance.taskState !== null) {
          throw ApplicationFailure.create({
            type: 'InstanceInvalidState',
            nonRetryable: true,
            message: `instance is in task_state ${this.instance.taskState}`,
          });
        }
        this.instance.taskState = request.taskState;
        return {
          uuid: 'uuid-1',
          name: 'demo',
          hostName: this.source,
          flavorId: 'tiny',
          size: { vcpus: 1, memoryMiB: 128, rootDiskGiB: 1 },
        };
      },
      setMigrationStatus: async (update) => {
        this.enter('setMigrationStatus');
        this.migration.status = update.status;
        if (update.destHost) this.migration.destHost = update.destHost;
        if (update.error) this.migration.error = update.error;
        update.events?.forEach((record) => this.recordEvent(record));
      },
      recordActionEvent: async (record) => this.recordEvent(record),
      recordActionEvents: async (records) => records.forEach((record) => this.recordEvent(record)),
      describeHost: async ({ host }) => fakePeer(host),
      describePolicy: async () => {
        this.enter('describePolicy');
        return this.policy;
      },
      saveMigrationProgress: async ({ progress }) => {
        this.enter('saveMigrationProgress');
        this.savedProgress.push({ progress, status: this.migration.status });
        return this.migration.status === 'running';
      },
      selectDestinations: async (request) => {
        this.enter('selectDestinations');
        const left = request.requestedHost
          ? [request.requestedHost]
          : this.hosts.filter((h) => h !== this.source && !request.exclude.includes(h));
        if (left.length === 0) {
          throw ApplicationFailure.create({
            type: 'NoValidHost',
            nonRetryable: true,
            message: 'no host left',
          });
        }
        request.events?.forEach((record) => this.recordEvent(record));
        return left;
      },
      claimResources: async ({ host, events }) => {
        this.enter('claimResources');
        this.claims.add(host);
        events?.forEach((record) => this.recordEvent(record));
      },
      releaseClaims: async ({ host }) => {
        this.enter('releaseClaims');
        if (host) this.claims.delete(host);
        else this.claims.clear();
      },
      acquireMigrationSlot: async ({ events }) => {
        this.enter('acquireMigrationSlot');
        if (this.slotFree) {
          this.migration.status = 'preparing';
          events?.forEach((record) => this.recordEvent(record));
        }
        return this.slotFree;
      },
      completeLiveMigration: async ({ destHost, events }) => {
        events?.forEach((record) => this.recordEvent(record));
        this.enter('completeLiveMigration');
        Object.assign(this.instance, { hostName: destHost, taskState: null, progress: 100 });
        Object.assign(this.migration, { status: 'completed', destHost });
        this.claims.clear();
      },
      failMigration: async (request) => {
        this.enter('failMigration');
        this.instance.taskState = null;
        if (request.instanceError) this.instance.vmState = 'error';
        Object.assign(this.migration, { status: request.status, error: request.error });
        this.claims.clear();
      },
    };
  }

  hostActivities(host: string): LiveMigrationHostActivities {
    const facts: SourceFacts = {
      guestCpuXml: null,
      disks: [{ target: 'vda', path: '/i/demo/disk.qcow2', format: 'qcow2', virtualSizeBytes: 1 }],
      directories: ['/i/demo'],
      consoleFiles: ['/i/demo/console.log'],
      memoryMiB: 128,
      hypervisorType: 'QEMU',
      hypervisorVersion: 7002000,
      arch: 'x86_64',
    };
    return {
      checkCanLiveMigrateSource: async () => {
        this.enter('checkCanLiveMigrateSource', host);
        await this.sourceCheckGate;
        return facts;
      },
      checkCanLiveMigrateDestination: async () => {
        this.enter('checkCanLiveMigrateDestination', host);
        const refusal = this.refusingHosts.get(host);
        if (refusal) {
          throw ApplicationFailure.create({
            type: refusal,
            nonRetryable: true,
            message: `${host} refuses: ${refusal}`,
          });
        }
        return { storageProbe: `.probe-${host}` };
      },
      hasStorageProbe: async () => {
        this.enter('hasStorageProbe', host);
        return false;
      },
      removeStorageProbe: async () => {
        this.enter('removeStorageProbe', host);
      },
      prepareLiveMigrationDestination: async () => {
        this.enter('prepareLiveMigrationDestination', host);
        await this.prepareGate;
        return { created: [`/i/demo/disk.qcow2@${host}`] };
      },
      liveMigrate: async ({ destHost }) => {
        this.enter('liveMigrate', host);
        this.presence.set(destHost, 'running');
        if (this.migrateMode === 'run-until-cancelled') {
          const context = Context.current();
          try {
            for (;;) {
              context.heartbeat();
              await Promise.race([context.cancelled, sleep(100)]);
            }
          } catch (error) {
            this.migrationAborted = true;
            this.presence.delete(destHost);
            throw error;
          }
        }
        this.presence.delete(host);
        if (this.migrateMode === 'lands-then-fails') {
          throw ApplicationFailure.create({
            type: 'MigrationError',
            nonRetryable: true,
            message: 'the agent lost the job after the guest moved',
          });
        }
        const result: MigrationResult = {
          attached: false,
          elapsedMs: 1000,
          downtimeMs: 50,
          progress: PROGRESS_DONE,
          forced: null,
        };
        return result;
      },
      forceCompleteLiveMigration: async () => {
        this.enter('forceCompleteLiveMigration', host);
        this.forcedWith = 'paused';
        return 'paused';
      },
      locateInstance: async () => {
        this.enter('locateInstance', host);
        return { presence: this.presence.get(host) ?? 'absent', migrating: false };
      },
      abortLiveMigration: async () => {
        this.enter('abortLiveMigration', host);
        return false;
      },
      resumeInstance: async () => {
        this.enter('resumeInstance', host);
        return false;
      },
      rollbackLiveMigrationAtDestination: async () => {
        this.enter('rollbackLiveMigrationAtDestination', host);
        this.presence.delete(host);
      },
      cleanupLiveMigrationSource: async () => {
        this.enter('cleanupLiveMigrationSource', host);
      },
    };
  }
}
