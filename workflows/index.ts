export { refreshHosts } from './refresh-hosts';
export { liveMigration } from './live-migration';
export { resize } from './resize';
export { evacuate } from './evacuate';
export { hostDrain, hostDrainPlan } from './host-drain';
export { hostHeartbeats } from './host-heartbeats';
