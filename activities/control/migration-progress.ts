import type { MigrationProgress } from '../../workflows/live-migration-contract';
import type { Database } from '../../db/database';

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
 * `progress` (progress.percent rounded, within 0–100), in one transaction, only while the
 * migration is running: a late write never overwrites what its completion or rollback recorded.
 * Returns whether it wrote.
 */
export async function saveMigrationProgress(
  db: Database,
  request: { migrationUuid: string; progress: MigrationProgress },
): Promise<boolean> {
  const { migrationUuid, progress } = request;
  const percent = Math.min(100, Math.max(0, Math.round(progress.percent)));
  const running = { uuid: migrationUuid, status: 'running' };
  const [saved] = await db.$transaction([
    db.migration.updateMany({ where: running, data: progressCounters(progress) }),
    db.instance.updateMany({
      where: { migrations: { some: running } },
      data: { progress: percent },
    }),
  ]);
  return saved.count > 0;
}
