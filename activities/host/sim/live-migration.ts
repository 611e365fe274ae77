/**
 * The live-migration host activities of one simulated host: the same contract as the libvirt ones
 * (activities/host/live-migration), answered from the SimFleet with its timings, with the same
 * heartbeats and progress reports as the real monitor sends.
 */
import { Context } from '@temporalio/activity';
import type {
  LiveMigrationHostActivities,
  MigrationProgress,
  MigrationResult,
} from '../../../workflows/live-migration-contract';
import { migrationFailure } from '../live-migration/failures';
import { ProgressReporter } from '../live-migration/progress-reporter';
import type { SimFleet } from './sim-fleet';

export interface SimHostContext {
  fleet: SimFleet;
  hostName: string;
  reportProgress(migrationUuid: string, progress: MigrationProgress): Promise<void>;
}

const MiB = 1024 * 1024;

function progressOf(totalBytes: number, remainingBytes: number): MigrationProgress {
  return {
    memoryTotalBytes: totalBytes,
    memoryProcessedBytes: totalBytes - remainingBytes,
    memoryRemainingBytes: remainingBytes,
    diskTotalBytes: 0,
    diskProcessedBytes: 0,
    diskRemainingBytes: 0,
    percent: Math.round(100 - (100 * remainingBytes) / Math.max(totalBytes, 1)),
    postCopy: false,
  };
}

export function createSimLiveMigrationActivities({
  fleet,
  hostName,
  reportProgress,
}: SimHostContext): LiveMigrationHostActivities {
  const { timings } = fleet;
  const probes = new Set<string>();
  const domain = (uuid: string) => {
    const found = fleet.find(hostName, uuid);
    if (!found)
      throw migrationFailure('InstanceNotFound', `instance ${uuid} is not on ${hostName}`);
    return found;
  };

  return {
    async checkCanLiveMigrateSource({ instanceUuid }) {
      await fleet.work(instanceUuid, timings.callMs);
      const { memoryMiB, disks } = domain(instanceUuid);
      return {
        guestCpuXml: null,
        emulator: null,
        virtType: null,
        disks,
        directories: [],
        consoleFiles: [],
        memoryMiB,
        hypervisorType: 'QEMU',
        hypervisorVersion: 8_002_000,
        arch: 'x86_64',
      };
    },

    async checkCanLiveMigrateDestination({ instanceUuid }) {
      await fleet.work(instanceUuid, timings.callMs);
      if (fleet.find(hostName, instanceUuid)) {
        throw migrationFailure('MigrationPreCheckError', `${instanceUuid} already on ${hostName}`);
      }
      const storageProbe = `sim-probe-${instanceUuid}-${hostName}`;
      probes.add(storageProbe);
      return { storageProbe };
    },

    async hasStorageProbe({ storageProbe }) {
      return probes.has(storageProbe);
    },

    async removeStorageProbe({ storageProbe }) {
      probes.delete(storageProbe);
    },

    async prepareLiveMigrationDestination({ instanceUuid }) {
      await fleet.work(instanceUuid, timings.prepareMs);
      return { created: [] };
    },

    async liveMigrate({ migrationUuid, instanceUuid, destHost }): Promise<MigrationResult> {
      if (fleet.find(destHost, instanceUuid) && !fleet.find(hostName, instanceUuid)) {
        const done = progressOf(0, 0);
        return { attached: true, elapsedMs: null, downtimeMs: null, progress: done, forced: null };
      }
      const { memoryMiB } = domain(instanceUuid);
      const totalBytes = memoryMiB * MiB;
      const reporter = new ProgressReporter((p) => reportProgress(migrationUuid, p), 5000);
      const started = Date.now();
      await fleet.work(instanceUuid, timings.migrationSetupMs);
      const first = progressOf(totalBytes, totalBytes);
      Context.current().heartbeat(first);
      reporter.offer(first, Date.now());
      await fleet.work(instanceUuid, (1000 * memoryMiB) / timings.bandwidthMiBps);
      await fleet.work(instanceUuid, timings.downtimeMs);
      fleet.move(instanceUuid, hostName, destHost);
      const done = progressOf(totalBytes, 0);
      await reporter.settled();
      return {
        attached: false,
        elapsedMs: Date.now() - started,
        downtimeMs: timings.downtimeMs,
        progress: done,
        forced: null,
      };
    },

    async forceCompleteLiveMigration() {
      return 'no-job';
    },

    async locateInstance({ instanceUuid }) {
      const found = fleet.find(hostName, instanceUuid);
      return { presence: found ? found.state : 'absent', migrating: false };
    },

    async abortLiveMigration() {
      return false;
    },

    async resumeInstance({ instanceUuid }) {
      const found = fleet.find(hostName, instanceUuid);
      if (found?.state !== 'paused') return false;
      found.state = 'running';
      return true;
    },

    async rollbackLiveMigrationAtDestination({ instanceUuid }) {
      await fleet.work(instanceUuid, timings.callMs);
      if (fleet.hostsOf(instanceUuid).length > 1) fleet.undefine(hostName, instanceUuid);
    },

    async cleanupLiveMigrationSource({ instanceUuid }) {
      await fleet.work(instanceUuid, timings.callMs);
    },
  };
}
