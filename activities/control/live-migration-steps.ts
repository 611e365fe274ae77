/**
 * A live migration's control steps as one local activity each where the workflow's steps meet
 * (docs/local-activities.md, "Merged steps"): each composes the single-purpose steps and records
 * the action events that ride with it once those have succeeded, so that a step that fails has
 * recorded none and the workflow records them with the failure, once.
 */
import type { Database } from '../../db/database';
import type { ActionEventRecord, OperationPolicy, PeerHost } from '../../workflows/operation-types';
import { describeHost } from './describe-host';
import { type ActionIds, recordActionEvents } from './instance-actions';
import { beginInstanceOperation } from './instance-operations';
import { acquireMigrationSlot, type SlotSettings } from './migration-slots';
import { setMigrationStatus } from './migration-status';
import { operationPolicy, type ControlPolicyConfig } from './policy';

/**
 * The live migration begins (beginInstanceOperation), then `events` (the first step's start) are
 * recorded; returns the policy it runs under, which the control worker's configuration decides.
 */
export async function beginLiveMigration(
  db: Database,
  settings: ControlPolicyConfig,
  request: { migrationUuid: string; requestedBy: string; events?: ActionEventRecord[] },
  actionIds: ActionIds,
): Promise<OperationPolicy> {
  await beginInstanceOperation(
    db,
    {
      migrationUuid: request.migrationUuid,
      taskState: 'migrating',
      action: 'live-migration',
      requestedBy: request.requestedBy,
    },
    actionIds,
  );
  await recordActionEvents(db, request.events ?? [], actionIds);
  return operationPolicy(settings);
}

/**
 * The migration waits as queued for `destHost` and asks for its slot at once; then `events` are
 * recorded, and `eventsOnSlot` too when it got one. Returns whether it did.
 */
export async function queueMigration(
  db: Database,
  settings: SlotSettings,
  request: {
    migrationUuid: string;
    destHost: string;
    limit: number;
    events?: ActionEventRecord[];
    eventsOnSlot?: ActionEventRecord[];
  },
  actionIds: ActionIds,
): Promise<boolean> {
  const { migrationUuid, destHost, limit } = request;
  await setMigrationStatus(db, { migrationUuid, status: 'queued', destHost });
  const acquired = await acquireMigrationSlot(db, settings, { migrationUuid, limit });
  const onSlot = acquired ? (request.eventsOnSlot ?? []) : [];
  await recordActionEvents(db, [...(request.events ?? []), ...onSlot], actionIds);
  return acquired;
}

/**
 * The migration runs: status running with `events` recorded (the running step's start); returns
 * the destination as its peers reach it, for the source's libvirt to migrate to, read first so
 * that a destination no longer registered fails the step before anything is written.
 */
export async function startLiveMigration(
  db: Database,
  request: { migrationUuid: string; destHost: string; events?: ActionEventRecord[] },
  actionIds: ActionIds,
): Promise<PeerHost> {
  const { migrationUuid, destHost } = request;
  const peer = await describeHost(db, { host: destHost });
  await setMigrationStatus(db, { migrationUuid, status: 'running', destHost });
  await recordActionEvents(db, request.events ?? [], actionIds);
  return peer;
}
