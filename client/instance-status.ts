/**
 * Nova's server status (nova/api/openstack/common.py, _STATE_MAP) from an instance's vm_state and
 * task_state, restricted to the states ferry has. One difference: ferry keeps a stopped guest in
 * vm_state `active` with power_state `shutdown` (Nova would say vm_state `stopped`); both are
 * SHUTOFF here.
 */
import type { Instance } from '../db/models';

export type InstanceStatus =
  | 'ACTIVE'
  | 'SHUTOFF'
  | 'MIGRATING'
  | 'RESIZE'
  | 'VERIFY_RESIZE'
  | 'REVERT_RESIZE'
  | 'ERROR'
  | 'UNKNOWN';

/** The task states during which an active or stopped instance shows RESIZE. */
const RESIZING = ['resize_prep', 'resize_migrating', 'resize_migrated', 'resize_finish'];

/** The status Nova's API shows for an instance; UNKNOWN for a vm_state Nova has no status for. */
export function instanceStatus(
  instance: Pick<Instance, 'vmState' | 'taskState' | 'powerState'>,
): InstanceStatus {
  const { vmState, taskState, powerState } = instance;
  switch (vmState) {
    case 'error':
      return 'ERROR';
    case 'resized':
      return taskState === 'resize_reverting' ? 'REVERT_RESIZE' : 'VERIFY_RESIZE';
    case 'active':
    case 'stopped':
      if (taskState !== null && RESIZING.includes(taskState)) return 'RESIZE';
      if (vmState === 'active' && taskState === 'migrating') return 'MIGRATING';
      return vmState === 'stopped' || powerState === 'shutdown' ? 'SHUTOFF' : 'ACTIVE';
    default:
      return 'UNKNOWN';
  }
}
