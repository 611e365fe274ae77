import { ApplicationFailure } from '@temporalio/common';
import { decideBlockMigration } from '../../workflows/block-migration';
import type { BlockMigration } from '../../workflows/live-migration-contract';
import type { InstanceDisk } from '../../workflows/operation-types';

const HOSTS = { source: 'host1', dest: 'host2' };
const DISK: InstanceDisk = {
  target: 'vda',
  path: '/var/lib/ferry/instances/vm/disk',
  format: 'qcow2',
  virtualSizeBytes: 1024 ** 3,
};

const decide = (requested: BlockMigration, shared: boolean, disks: InstanceDisk[]) =>
  decideBlockMigration(requested, shared, disks, HOSTS);

function refusal(requested: BlockMigration, shared: boolean, disks: InstanceDisk[]) {
  try {
    decide(requested, shared, disks);
  } catch (error) {
    return error as ApplicationFailure;
  }
  throw new Error(`block_migration=${String(requested)} was not refused`);
}

describe('block_migration auto', () => {
  it('copies no disk when the instances dir is shared: the destination sees the disks', () => {
    expect(decide('auto', true, [DISK])).toBe(false);
  });

  it('copies the disks when the instances dir is not shared', () => {
    expect(decide('auto', false, [DISK])).toBe(true);
  });

  it('copies nothing for an instance without local disks, shared or not', () => {
    expect(decide('auto', true, [])).toBe(false);
    expect(decide('auto', false, [])).toBe(false);
  });
});

describe('block_migration asked for explicitly', () => {
  it('true onto shared storage is refused with InvalidSharedStorage, non-retryable', () => {
    const error = refusal(true, true, [DISK]);
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect(error).toMatchObject({ type: 'InvalidSharedStorage', nonRetryable: true });
    expect(error.message).toContain('host1 and host2 share the instances dir');
  });

  it('false with local disks on unshared storage is refused with InvalidLocalStorage', () => {
    const error = refusal(false, false, [DISK, { ...DISK, target: 'vdb' }]);
    expect(error).toMatchObject({ type: 'InvalidLocalStorage', nonRetryable: true });
    expect(error.message).toContain('(vda, vdb) that host2 cannot see');
  });

  it('true on unshared storage copies the disks; false on shared storage copies none', () => {
    expect(decide(true, false, [DISK])).toBe(true);
    expect(decide(false, true, [DISK])).toBe(false);
  });

  it('true for an instance without local disks copies nothing', () => {
    expect(decide(true, false, [])).toBe(false);
  });
});
