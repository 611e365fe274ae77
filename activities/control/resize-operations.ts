/**
 * A resize or cold migration in the database, up to VERIFY_RESIZE: it begins with a
 * compare-and-set of the instance's task_state, advances through Nova's statuses and task states,
 * and finishes with the instance on its destination in vm_state resized (docs/architecture.md,
 * "Resize and cold migration"); the confirm, revert and failure are in resize-outcomes.ts.
 */
import type { ResizeStatus, ResizeTaskState } from '../../workflows/resize-contract';
import type { Database } from '../../db/database';
import { flavorResources } from '../../db/host-state';
import { openInstanceAction } from './instance-actions';
import { beginRefusal, type BeginnableStates } from './instance-refusal';
import { migrationFailure } from './migration-errors';
import { isFinished } from './migration-lookup';
import { currentStatus, getResizeMigration, refusedStep, requireBegun } from './resize-lookup';
import { inTransaction } from '../../db/transactions';

/** A resize or cold migration begins from an active instance, running or powered off. */
const RESIZABLE: BeginnableStates = { vmStates: ['active'], powerStates: ['running', 'shutdown'] };
/**
 * The task states of a begun migration before VERIFY_RESIZE: a workflow task lost with its local
 * activities runs beginResize again after the steps that followed it (docs/local-activities.md).
 */
const BEGUN_TASK_STATES: ResizeTaskState[] = [
  'resize_prep',
  'resize_migrating',
  'resize_migrated',
  'resize_finish',
];

/**
 * Sets the instance's task_state from null to resize_prep when it is active (running or shut
 * down), unlocked and on the migration's source host, and opens the migration's
 * InstanceAction (Nova's `resize`, or `migrate` for a cold migration) with requestId = the
 * migration's uuid, in one transaction. A retry, or a run again after later steps of a lost
 * workflow task, finds the instance in one of this migration's task states with its action and
 * succeeds again. Fails with InstanceLocked or InstanceInvalidState
 * (naming the state that refused), or MigrationError when the migration already finished.
 */
export async function beginResize(
  db: Database,
  request: { migrationUuid: string; requestedBy: string },
): Promise<void> {
  const migration = await getResizeMigration(db, request.migrationUuid);
  if (isFinished(migration.status)) {
    throw refusedStep(migration.uuid, migration.status, 'begin');
  }
  await inTransaction(db, async (tx) => {
    const { count } = await tx.instance.updateMany({
      where: {
        uuid: migration.instanceUuid,
        taskState: null,
        vmState: { in: RESIZABLE.vmStates },
        powerState: { in: RESIZABLE.powerStates },
        locked: false,
        hostName: migration.sourceHost,
      },
      data: { taskState: 'resize_prep' },
    });
    if (count === 0) {
      const instance = await tx.instance.findUniqueOrThrow({
        where: { uuid: migration.instanceUuid },
      });
      const begun =
        BEGUN_TASK_STATES.includes(instance.taskState as ResizeTaskState) &&
        (await tx.instanceAction.count({ where: { requestId: migration.uuid } })) > 0;
      if (!begun) throw beginRefusal(instance, migration.sourceHost, RESIZABLE);
    }
    await openInstanceAction(tx, {
      migrationUuid: migration.uuid,
      instanceUuid: migration.instanceUuid,
      action: migration.migrationType === 'resize' ? 'resize' : 'migrate',
      userId: request.requestedBy,
    });
  });
}

/** The statuses setResizeProgress sets, and those each may follow (itself, for a retry). */
const PROGRESS_FROM: Partial<Record<ResizeStatus, ResizeStatus[]>> = {
  'pre-migrating': ['pre-migrating'],
  queued: ['pre-migrating', 'queued'],
  // From queued only acquireMigrationSlot moves on, so nothing passes the fleet's limit.
  migrating: ['pre-migrating', 'migrating'],
  'post-migrating': ['pre-migrating', 'migrating', 'post-migrating'],
  confirming: ['finished', 'confirming'],
  reverting: ['finished', 'reverting'],
};

/**
 * Whether `queued` is asked of a resize its slot has already moved on. The workflow sets `queued`
 * and takes the slot in one workflow task; when that task is lost (the control worker died) both
 * run again, and the row is then past `queued`: nothing to do, and nothing to refuse.
 */
function slotAlreadyTaken(current: ResizeStatus, status: ResizeStatus): boolean {
  return status === 'queued' && ['migrating', 'post-migrating'].includes(current);
}

/**
 * In one transaction: the migration's status (and destination, when given) and its instance's
 * task_state. Only forward in Nova's lifecycle: a repeated call changes nothing, as does `queued`
 * once the slot has moved the resize on; another status the migration has passed, or one set by
 * finishResize, confirmResize, revertResize or failResize, fails with MigrationError, as does a
 * migration whose operation does not hold its instance.
 */
export async function setResizeProgress(
  db: Database,
  update: {
    migrationUuid: string;
    status: ResizeStatus;
    taskState: ResizeTaskState | null;
    destHost?: string;
  },
): Promise<void> {
  const from = PROGRESS_FROM[update.status];
  if (!from) {
    throw migrationFailure(
      'MigrationError',
      `status ${update.status} is set by finishResize, confirmResize, revertResize or failResize, not by setResizeProgress`,
    );
  }
  const migration = await getResizeMigration(db, update.migrationUuid);
  await inTransaction(db, async (tx) => {
    const { count } = await tx.migration.updateMany({
      where: { id: migration.id, status: { in: from } },
      data: {
        status: update.status,
        ...(update.destHost === undefined ? {} : { destHost: update.destHost }),
      },
    });
    if (count === 0) {
      const current = await currentStatus(tx, migration.id);
      if (slotAlreadyTaken(current, update.status)) return;
      throw refusedStep(migration.uuid, current, `become ${update.status}`);
    }
    await requireBegun(tx, migration.uuid);
    await tx.instance.update({
      where: { uuid: migration.instanceUuid },
      data: { taskState: update.taskState },
    });
  });
}

/** The statuses a resize may finish from. */
const FINISHABLE: ResizeStatus[] = ['pre-migrating', 'migrating', 'post-migrating'];

/** A confirm deadline as an ISO time, or null (the resize waits for ever). */
function parseDeadline(deadline: string | null): Date | null {
  if (deadline === null) return null;
  const parsed = new Date(deadline);
  if (Number.isNaN(parsed.getTime())) {
    throw migrationFailure('MigrationError', `confirmDeadline "${deadline}" is not an ISO time`);
  }
  return parsed;
}

/**
 * In one transaction: the migration finished on `destHost` with its confirm deadline; the
 * instance is there with the new flavor, vm_state resized, task_state null (its power_state as
 * it was). The destination's claim is dropped (the instance counts there now), and unless the
 * destination is the source, the old flavor is claimed on the source, held for a revert until
 * the resize is confirmed or reverted. A repeated call does nothing; a migration that finished on
 * another host, went past finished or ended fails with MigrationError.
 */
export async function finishResize(
  db: Database,
  request: {
    migrationUuid: string;
    destHost: string;
    confirmDeadline: string | null;
    domainXml?: string;
  },
): Promise<void> {
  const confirmDeadline = parseDeadline(request.confirmDeadline);
  const migration = await getResizeMigration(db, request.migrationUuid);
  const { destHost } = request;
  await inTransaction(db, async (tx) => {
    const { count } = await tx.migration.updateMany({
      where: { id: migration.id, status: { in: FINISHABLE } },
      data: { status: 'finished', destHost, confirmDeadline },
    });
    if (count === 0) {
      const now = await tx.migration.findUniqueOrThrow({ where: { id: migration.id } });
      if (now.status === 'finished' && now.destHost === destHost) return;
      if (now.status === 'finished') {
        throw migrationFailure(
          'MigrationError',
          `migration ${migration.uuid} already finished on ${now.destHost}, not on ${destHost}`,
        );
      }
      throw refusedStep(migration.uuid, now.status, 'finish');
    }
    await requireBegun(tx, migration.uuid);
    if (!(await tx.host.findUnique({ where: { name: destHost }, select: { name: true } }))) {
      throw migrationFailure('MigrationError', `host ${destHost} is not registered`);
    }
    await tx.instance.update({
      where: { uuid: migration.instanceUuid },
      data: {
        hostName: destHost,
        flavorId: migration.newFlavorId,
        vmState: 'resized',
        taskState: null,
        ...(request.domainXml === undefined ? {} : { domainXml: request.domainXml }),
      },
    });
    await tx.resourceClaim.deleteMany({ where: { migrationId: migration.id, hostName: destHost } });
    if (destHost === migration.sourceHost) return;
    await tx.resourceClaim.upsert({
      where: {
        migrationId_hostName: { migrationId: migration.id, hostName: migration.sourceHost },
      },
      create: {
        migrationId: migration.id,
        hostName: migration.sourceHost,
        instanceUuid: migration.instanceUuid,
        ...flavorResources(migration.oldFlavor),
      },
      update: {},
    });
  });
}
