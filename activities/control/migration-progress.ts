import type { MigrationProgress } from '../../workflows/live-migration-contract';
import type { Database } from '../../db/database';
import { migrationFailure } from './migration-errors';

/** The Migration row's six byte counters from a job's progress. */
export function progressCounters(progress: MigrationProgress) {
  const bytes = (value: number) => BigInt(Math.trunc(value));
  return {
    memoryTotalBytes: bytes(progress.memoryTotalBytes),
    memoryProcessedBytes: bytes(progress.memoryProcessedBytes),
    memoryRemainingBytes: bytes(progress.memoryRemainingBytes),
    diskTotalBytes: bytes(progress.diskTotalBytes),
    diskProcessedBytes: bytes(progress.diskProcessedBytes),
    diskRemainingBytes: bytes(progress.diskRemainingBytes),
  };
}

/**
 * Records a running job's progress: the Migration row's byte counters and the instance's
 * `progress` (progress.percent rounded, within 0–100), in one transaction. Fails with MigrationError
 * when the migration is not recorded.
 */
export async function saveMigrationProgress(
  db: Database,
  migrationUuid: string,
  progress: MigrationProgress,
): Promise<void> {
  const percent = Math.min(100, Math.max(0, Math.round(progress.percent)));
  const [saved] = await db.$transaction([
    db.migration.updateMany({ where: { uuid: migrationUuid }, data: progressCounters(progress) }),
    db.instance.updateMany({
      where: { migrations: { some: { uuid: migrationUuid } } },
      data: { progress: percent },
    }),
  ]);
  if (saved.count === 0) {
    throw migrationFailure('MigrationError', `migration ${migrationUuid} is not recorded`);
  }
}
