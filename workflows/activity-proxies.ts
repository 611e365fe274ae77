/** How the live migration and resize workflows reach their activities: timeouts and retries per kind of step. */
import {
  ActivityCancellationType,
  patched,
  proxyActivities,
  proxyLocalActivities,
} from '@temporalio/workflow';
import type { EvacuateControlActivities, EvacuateHostActivities } from './evacuate-contract';
import type {
  LiveMigrationControlActivities,
  LiveMigrationHostActivities,
} from './live-migration-contract';
import { MIGRATION_ERRORS, type OperationControlActivities } from './operation-types';
import type { ResizeControlActivities, ResizeHostActivities } from './resize-contract';
import { hostTaskQueue } from './task-queues';

const nonRetryableErrorTypes = [...MIGRATION_ERRORS];

/**
 * Database and scheduler steps: short, retried until the database answers. They run as local
 * activities, in the control worker that runs the workflow (which has the database): no task
 * queue round trip through the server per step, and consecutive steps share one workflow task;
 * the history shows each as a MarkerRecorded event. They are idempotent, since a local activity
 * whose workflow task was lost runs again. Workflows started before this patch keep their remote
 * activities while they replay what they already did (docs/local-activities.md).
 */
const CONTROL_AS_LOCAL_ACTIVITIES = 'control-as-local-activities';
const controlOptions = {
  startToCloseTimeout: '30s',
  retry: { maximumInterval: '30s', nonRetryableErrorTypes },
} as const;

function controlProxy<T extends object>(local: T, remote: T): T {
  return new Proxy(local, {
    get: (_, step: string | symbol) =>
      Reflect.get(patched(CONTROL_AS_LOCAL_ACTIVITIES) ? local : remote, step),
  });
}

/** Database and scheduler steps both operations take. */
export const control = controlProxy(
  proxyLocalActivities<OperationControlActivities>(controlOptions),
  proxyActivities<OperationControlActivities>(controlOptions),
);

/** Every database step of a live migration, the shared ones and its own. */
export type LiveMigrationControl = OperationControlActivities & LiveMigrationControlActivities;

/** Database steps of a live migration, local activities as `control`'s. */
export const liveMigrationControl = controlProxy(
  proxyLocalActivities<LiveMigrationControl>(controlOptions),
  proxyActivities<LiveMigrationControl>(controlOptions),
);

/**
 * The same steps in a live migration started with its steps merged (live-migration-record.ts):
 * local activities, with no patch of their own to check, since that patch came after this one.
 */
export const mergedLiveMigrationControl =
  proxyLocalActivities<LiveMigrationControl>(controlOptions);

/**
 * Progress writes of a running migration: local, tried twice at most, so that a database outage
 * never holds up the completion or rollback waiting for the write in flight.
 */
export const progressControl = proxyLocalActivities<LiveMigrationControlActivities>({
  startToCloseTimeout: '10s',
  retry: { maximumAttempts: 2 },
});

/**
 * Short host steps (pre-checks, prepare, locate): an agent that does not pick the task up within
 * two minutes counts as a host that is not answering.
 */
export function hostAgent(host: string) {
  return proxyActivities<LiveMigrationHostActivities>({
    taskQueue: hostTaskQueue(host),
    scheduleToCloseTimeout: '2m',
    startToCloseTimeout: '60s',
    retry: { maximumAttempts: 5, maximumInterval: '15s', nonRetryableErrorTypes },
  });
}

/**
 * The migration itself: as long as it takes, alive as long as it heartbeats. A retry after the
 * agent died attaches to the libvirt job instead of starting another; a cancellation (abort) is
 * waited for, so the rollback starts only once libvirt has aborted the job.
 */
export function migratingAgent(host: string) {
  return proxyActivities<LiveMigrationHostActivities>({
    taskQueue: hostTaskQueue(host),
    startToCloseTimeout: '24h',
    heartbeatTimeout: '30s',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { maximumAttempts: 20, maximumInterval: '10s', nonRetryableErrorTypes },
  });
}

/**
 * Compensations: retried a few times, then given up on, so that a host that stays unreachable
 * leaves the instance in ERROR with the reason instead of a rollback that never ends.
 */
export function compensatingAgent(host: string) {
  return proxyActivities<LiveMigrationHostActivities>({
    taskQueue: hostTaskQueue(host),
    scheduleToCloseTimeout: '5m',
    startToCloseTimeout: '60s',
    retry: { maximumAttempts: 6, maximumInterval: '30s', nonRetryableErrorTypes },
  });
}

/**
 * Disk copies: as long as they take, alive as long as they heartbeat; a retry resumes from the
 * offset of the last heartbeat.
 */
export function copyingAgent(host: string) {
  return proxyActivities<ResizeHostActivities>({
    taskQueue: hostTaskQueue(host),
    startToCloseTimeout: '24h',
    heartbeatTimeout: '15s',
    retry: { maximumAttempts: 10, maximumInterval: '30s', nonRetryableErrorTypes },
  });
}

/**
 * Resize steps on a host: power off, define, start, move disks; minutes at most. The heartbeat
 * timeout finds a dead agent in seconds (the crash matrix waited out the 5 minutes before); the
 * one step that waits, the graceful shutdown, heartbeats while it does.
 */
export function resizingAgent(host: string) {
  return proxyActivities<ResizeHostActivities>({
    taskQueue: hostTaskQueue(host),
    scheduleToCloseTimeout: '10m',
    startToCloseTimeout: '5m',
    heartbeatTimeout: '30s',
    retry: { maximumAttempts: 5, maximumInterval: '30s', nonRetryableErrorTypes },
  });
}

/** Database steps of a resize, local activities as `control`'s. */
export const resizeControl = controlProxy(
  proxyLocalActivities<ResizeControlActivities>(controlOptions),
  proxyActivities<ResizeControlActivities>(controlOptions),
);

/** Database steps of an evacuation, local activities as `control`'s. */
export const evacuateControl = proxyLocalActivities<EvacuateControlActivities>(controlOptions);

/**
 * Evacuation steps on a host: the destination's checks (the fence check waits up to 15 s for
 * the source's libvirt), the definition and start, the destroy. An agent that does not pick the
 * task up within two minutes counts as a host that is not answering.
 */
export function evacuatingAgent(host: string) {
  return proxyActivities<EvacuateHostActivities>({
    taskQueue: hostTaskQueue(host),
    scheduleToCloseTimeout: '3m',
    startToCloseTimeout: '60s',
    retry: { maximumAttempts: 5, maximumInterval: '15s', nonRetryableErrorTypes },
  });
}
