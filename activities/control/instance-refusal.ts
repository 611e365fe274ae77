import type { Instance } from '../../db/models';
import { migrationFailure } from './migration-errors';

/** The vm_states and power_states an operation may begin from. */
export interface BeginnableStates {
  vmStates: string[];
  powerStates: string[];
}

/**
 * Why an operation's compare-and-set did not match the instance as it is now: InstanceLocked, or
 * InstanceInvalidState naming the task_state, vm_state, power_state or host that refused it. An
 * instance that matches (it changed between the two reads) gets a plain, retryable Error.
 */
export function beginRefusal(
  instance: Instance,
  sourceHost: string,
  allowed: BeginnableStates,
): Error {
  const name = `instance ${instance.name}`;
  if (instance.locked) return migrationFailure('InstanceLocked', `${name} is locked`);
  if (instance.taskState !== null) {
    return migrationFailure(
      'InstanceInvalidState',
      `${name} is in task_state ${instance.taskState}: another operation is running`,
    );
  }
  if (!allowed.vmStates.includes(instance.vmState)) {
    return migrationFailure(
      'InstanceInvalidState',
      `${name} is in vm_state ${instance.vmState}, not ${allowed.vmStates.join(' or ')}`,
    );
  }
  if (!allowed.powerStates.includes(instance.powerState)) {
    return migrationFailure(
      'InstanceInvalidState',
      `${name} is in power_state ${instance.powerState}, not ${allowed.powerStates.join(' or ')}`,
    );
  }
  if (instance.hostName !== sourceHost) {
    return migrationFailure(
      'InstanceInvalidState',
      `${name} is on host ${instance.hostName}, not on ${sourceHost}`,
    );
  }
  return new Error(`${name} changed while its operation began; retrying`);
}
