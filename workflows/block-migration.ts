import { ApplicationFailure } from '@temporalio/workflow';
import type { BlockMigration } from './live-migration-contract';
import type { InstanceDisk } from './operation-types';

/**
 * Nova's block_migration decision for one destination, once shared storage has been probed:
 * `auto` copies the disks exactly when the instances dir is not shared. Asking for a block
 * migration onto shared storage, or for none with local disks, is refused with Nova's errors.
 */
export function decideBlockMigration(
  requested: BlockMigration,
  sharedStorage: boolean,
  disks: InstanceDisk[],
  hosts: { source: string; dest: string },
): boolean {
  const local = disks.length > 0 && !sharedStorage;
  if (requested === 'auto') return local;
  if (requested && sharedStorage) {
    throw ApplicationFailure.create({
      type: 'InvalidSharedStorage',
      nonRetryable: true,
      message: `block migration was asked for, but ${hosts.source} and ${hosts.dest} share the instances dir`,
    });
  }
  if (!requested && local) {
    const targets = disks.map((disk) => disk.target).join(', ');
    throw ApplicationFailure.create({
      type: 'InvalidLocalStorage',
      nonRetryable: true,
      message: `the instance has local disks (${targets}) that ${hosts.dest} cannot see: use block migration`,
    });
  }
  return requested && disks.length > 0;
}
