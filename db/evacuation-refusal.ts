/**
 * Whether an instance can be evacuated now (docs/evacuate.md): pure, so the request layer's 409
 * and the workflow's compare-and-set refuse alike.
 */
import { hostLiveness, type HeartbeatRecord } from './host-liveness';
import type { Instance } from './models';

export interface EvacuationRefusal {
  type: 'ComputeServiceInUse' | 'InstanceInvalidState' | 'InstanceLocked';
  message: string;
}

/** Nova evacuates active, stopped and errored instances; ferry's stopped is active/shutdown. */
const EVACUABLE_VM_STATES = ['active', 'error'];

export function evacuationRefusal(
  instance: Pick<Instance, 'name' | 'hostName' | 'vmState' | 'taskState' | 'locked' | 'domainXml'>,
  host: HeartbeatRecord,
  now: Date,
  serviceDownTimeSeconds: number,
): EvacuationRefusal | null {
  const name = `instance ${instance.name}`;
  if (hostLiveness(host, now, serviceDownTimeSeconds) === 'up') {
    return {
      type: 'ComputeServiceInUse',
      message: `host ${instance.hostName} of ${name} is up: only an instance of a host that is down (or forced down) can be evacuated`,
    };
  }
  if (instance.taskState !== null) {
    return {
      type: 'InstanceInvalidState',
      message: `${name} is in task_state ${instance.taskState}: another operation is in progress`,
    };
  }
  if (!EVACUABLE_VM_STATES.includes(instance.vmState)) {
    return {
      type: 'InstanceInvalidState',
      message: `${name} is in vm_state ${instance.vmState}: evacuation needs it active, stopped or in error`,
    };
  }
  if (instance.locked) return { type: 'InstanceLocked', message: `${name} is locked` };
  if (instance.domainXml === null) {
    return {
      type: 'InstanceInvalidState',
      message: `ferry has no recorded domain definition for ${name} (it is recorded at import and at every move): it cannot be defined elsewhere`,
    };
  }
  return null;
}
