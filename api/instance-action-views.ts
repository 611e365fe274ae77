/**
 * Nova's views of instance actions and their events, by microversion and by the caller's role
 * (nova/api/openstack/compute/instance_actions.py and its default policies).
 */
import type { Prisma } from '../db/models';
import { eventHost, type MigrationHosts } from './action-event-hosts';
import type { RequestContext } from './router';
import { hostId, novaTime } from './views';

/** An InstanceAction row with its events (its detail view shows them, its updated_at needs them). */
export const WITH_EVENTS = { events: true } as const;
export type ActionRow = Prisma.InstanceActionGetPayload<{ include: typeof WITH_EVENTS }>;
type EventRow = ActionRow['events'][number];

/**
 * Nova's updated_at of an action: the last time it or one of its events started or finished (Nova
 * sets it at each of those). ferry derives it from those times instead of storing it, so that
 * recording an event stays one statement.
 */
export function actionUpdatedAt(action: ActionRow): Date {
  const times = [action.startTime, action.finishTime].concat(
    action.events.flatMap((event) => [event.startTime, event.finishTime]),
  );
  return new Date(Math.max(...times.map((time) => time?.getTime() ?? 0)));
}

/** Nova's action keys; updated_at from 2.58. ferry has no projects: project_id is null. */
export function actionView(context: RequestContext, action: ActionRow) {
  return {
    action: action.action,
    instance_uuid: action.instanceUuid,
    message: action.message,
    project_id: null,
    request_id: action.requestId,
    start_time: novaTime(action.startTime),
    user_id: action.userId,
    ...(context.version.atLeast('2.58') ? { updated_at: novaTime(actionUpdatedAt(action)) } : {}),
  };
}

/**
 * Nova's event keys. Admins only (policy os-instance-actions:events) see traceback (ferry keeps a
 * failed step's message, not a stack, so that is what it shows), the host from 2.62, and details
 * from 2.84 (policy os-instance-actions:events:details); everyone sees hostId from 2.62.
 */
function eventView(context: RequestContext, event: EventRow, migration: MigrationHosts | null) {
  const { version } = context;
  const admin = context.caller.role === 'admin';
  const host = eventHost(event.event, migration);
  return {
    event: event.event,
    start_time: novaTime(event.startTime),
    finish_time: event.finishTime ? novaTime(event.finishTime) : null,
    result: event.result,
    ...(admin ? { traceback: event.details } : {}),
    ...(admin && version.atLeast('2.62') ? { host } : {}),
    ...(version.atLeast('2.62') ? { hostId: hostId(host) } : {}),
    ...(admin && version.atLeast('2.84') ? { details: event.details } : {}),
  };
}

/**
 * One action with its events, newest first: for admins at every microversion, for members from
 * 2.51 (before it Nova shows them no events).
 */
export function actionDetailView(
  context: RequestContext,
  action: ActionRow,
  migration: MigrationHosts | null,
) {
  const showEvents = context.caller.role === 'admin' || context.version.atLeast('2.51');
  const events = [...action.events].sort(
    (a, b) => b.startTime.getTime() - a.startTime.getTime() || b.id - a.id,
  );
  return {
    ...actionView(context, action),
    ...(showEvents ? { events: events.map((event) => eventView(context, event, migration)) } : {}),
  };
}
