/** How a host agent runs live migrations: Nova's libvirt live_migration_* options, and its pace. */
import type { FerryConfig, LiveMigrationTimeoutAction } from '../../../config';

export interface LiveMigrationSettings {
  /** Seconds per GiB of data before the timeout action; 0 = no timeout. */
  completionTimeoutPerGiB: number;
  timeoutAction: LiveMigrationTimeoutAction;
  /** Abort when data remaining has not dropped below its lowest value for this long; 0 = never. */
  progressTimeoutSeconds: number;
  /** The max downtime (ms) the downtime steps end at. */
  maxDowntimeMs: number;
  downtimeSteps: number;
  /** Seconds per GiB of data between downtime steps. */
  downtimeDelayPerGiB: number;
  /** MiB/s; 0 = unlimited. */
  bandwidthMiBs: number;
  permitPostCopy: boolean;
  /** MiB/s of the post-copy phase; 0 = unlimited. */
  postCopyBandwidthMiBs: number;
  /** A post-copy that moves no data for this long has lost its link: it is paused to be resumed. */
  postCopyStallTimeoutSeconds: number;
  /** How long a paused (failed) post-copy is retried until it resumes (docs/live-migration.md). */
  postCopyResumeTimeoutSeconds: number;
  permitAutoConverge: boolean;
  /** Encrypt the migration streams (VIR_MIGRATE_TLS); a host without certificates is refused. */
  withNativeTls: boolean;
  /** How often the monitor reads the job's stats and heartbeats (Nova: 0.5 s). */
  monitorIntervalMs: number;
  /** How often the monitor signals progress to the workflow, which saves it (Nova: 5 s). */
  progressSaveIntervalMs: number;
}

export const MONITOR_INTERVAL_MS = 500;
export const PROGRESS_SAVE_INTERVAL_MS = 5000;

export function liveMigrationSettings(
  config: Pick<
    FerryConfig,
    | 'liveMigrationCompletionTimeoutPerGiB'
    | 'liveMigrationTimeoutAction'
    | 'liveMigrationProgressTimeoutSeconds'
    | 'liveMigrationMaxDowntimeMs'
    | 'liveMigrationDowntimeSteps'
    | 'liveMigrationDowntimeDelayPerGiB'
    | 'liveMigrationBandwidthMiBs'
    | 'liveMigrationPermitPostCopy'
    | 'liveMigrationPostCopyBandwidthMiBs'
    | 'liveMigrationPostCopyStallTimeoutSeconds'
    | 'liveMigrationPostCopyResumeTimeoutSeconds'
    | 'liveMigrationPermitAutoConverge'
    | 'liveMigrationWithNativeTls'
  >,
): LiveMigrationSettings {
  return {
    completionTimeoutPerGiB: config.liveMigrationCompletionTimeoutPerGiB,
    timeoutAction: config.liveMigrationTimeoutAction,
    progressTimeoutSeconds: config.liveMigrationProgressTimeoutSeconds,
    maxDowntimeMs: config.liveMigrationMaxDowntimeMs,
    downtimeSteps: config.liveMigrationDowntimeSteps,
    downtimeDelayPerGiB: config.liveMigrationDowntimeDelayPerGiB,
    bandwidthMiBs: config.liveMigrationBandwidthMiBs,
    permitPostCopy: config.liveMigrationPermitPostCopy,
    postCopyBandwidthMiBs: config.liveMigrationPostCopyBandwidthMiBs,
    postCopyStallTimeoutSeconds: config.liveMigrationPostCopyStallTimeoutSeconds,
    postCopyResumeTimeoutSeconds: config.liveMigrationPostCopyResumeTimeoutSeconds,
    permitAutoConverge: config.liveMigrationPermitAutoConverge,
    withNativeTls: config.liveMigrationWithNativeTls,
    monitorIntervalMs: MONITOR_INTERVAL_MS,
    progressSaveIntervalMs: PROGRESS_SAVE_INTERVAL_MS,
  };
}
