/** The multi-host lab: libvirt hosts in network namespaces on one machine, for tests and demos. */
export { hostCommand, runInHost } from './command';
export { labDown, type LabDownOptions } from './down';
export {
  bootGuest,
  guestDirOnHost,
  readCounter,
  waitForCounter,
  type BootGuestOptions,
  type LabGuest,
} from './guest';
export { INSTANCES_DIR, LAB_SUBNET, defaultStateDir, rootNamespacePath } from './layout';
export { labStatus, type LabHostStatus, type LabStatus, type LabStatusOptions } from './status';
export type { LabHost, LabHostPids, LabState } from './state';
export { labUp, type LabUpOptions } from './up';
