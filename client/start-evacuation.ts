/**
 * Evacuations as the CLI and the API request them (docs/evacuate.md): one instance, or every
 * instance of a host that is down, each recorded as a Migration of type `evacuation` and carried
 * out by the evacuate workflow under the instance's workflow id.
 */
import { ApplicationFailure, WorkflowFailedError, type Client } from '@temporalio/client';
import type { FerryConfig } from '../config';
import type { Database } from '../db/database';
import { evacuationRefusal } from '../db/evacuation-refusal';
import { recordMigration } from '../db/record-migration';
import type { EvacuateInput, EvacuationState } from '../workflows/evacuate-contract';
import { instanceWorkflowId } from '../workflows/operation-types';
import { findInstance } from './find-instance';
import { RequestError } from './request-error';
import { startInstanceWorkflow, type StartedMigration } from './start-instance-workflow';

export interface EvacuateRequest {
  instance: string;
  /** The destination, or undefined for the scheduler's choice. */
  host?: string;
  requestedBy: string;
}

/**
 * Refuses (409, nothing changed) an instance whose host is up, that is busy, locked or has no
 * recorded definition; records the Migration (accepted) and starts the evacuate workflow. The
 * destination's checks (the source fenced, the disks seen) run in the workflow, before anything
 * is defined.
 */
export async function startEvacuation(
  db: Database,
  client: Client,
  config: Pick<FerryConfig, 'serviceDownTimeSeconds'>,
  request: EvacuateRequest,
): Promise<StartedMigration> {
  const instance = await findInstance(db, request.instance);
  const source = await db.host.findUniqueOrThrow({ where: { name: instance.hostName } });
  const refusal = evacuationRefusal(instance, source, new Date(), config.serviceDownTimeSeconds);
  if (refusal) throw new RequestError(refusal.type, 409, refusal.message);
  if (request.host !== undefined) {
    if (!(await db.host.findUnique({ where: { name: request.host } }))) {
      throw new RequestError(
        'ComputeHostNotFound',
        400,
        `compute host ${request.host} could not be found`,
      );
    }
    if (request.host === instance.hostName) {
      throw new RequestError(
        'UnableToMigrateToSelf',
        400,
        `instance ${instance.name} is on ${request.host} already: evacuate it to another host`,
      );
    }
  }
  const migration = await recordMigration(db, {
    instance,
    migrationType: 'evacuation',
    workflowId: instanceWorkflowId(instance.uuid),
  });
  const input: EvacuateInput = {
    migrationUuid: migration.uuid,
    instanceUuid: instance.uuid,
    instanceName: instance.name,
    sourceHost: instance.hostName,
    requestedHost: request.host ?? null,
    requestedBy: request.requestedBy,
  };
  return startInstanceWorkflow(db, client, {
    workflowType: 'evacuate',
    input,
    instance,
    migration,
    requestedHost: request.host,
  });
}

/** How one instance of a host's evacuation went: started (and how it ended), or refused. */
export interface HostEvacuationItem {
  instance: string;
  migrationUuid: string | null;
  /** done | failed | started (not waited for) | refused */
  outcome: string;
  destHost: string | null;
  error: string | null;
}

/**
 * Evacuates every instance of `host` (which must be down), at most `concurrency` at once: the
 * next starts when one has ended (a drain's bound). With `wait`, it returns once every one has
 * ended; without, once the last has started. An instance refused is reported and skipped.
 */
export async function evacuateHost(
  db: Database,
  client: Client,
  config: Pick<FerryConfig, 'serviceDownTimeSeconds'>,
  request: {
    host: string;
    concurrency: number;
    wait: boolean;
    requestedBy: string;
    onItem?: (item: HostEvacuationItem) => void;
  },
): Promise<HostEvacuationItem[]> {
  if (!Number.isSafeInteger(request.concurrency) || request.concurrency < 1) {
    throw new RequestError('InvalidInput', 400, 'concurrency must be a whole number above 0');
  }
  const host = await db.host.findUnique({ where: { name: request.host } });
  if (!host) {
    throw new RequestError(
      'ComputeHostNotFound',
      404,
      `compute host ${request.host} could not be found`,
    );
  }
  const instances = await db.instance.findMany({
    where: { hostName: host.name },
    orderBy: { name: 'asc' },
  });
  const items: HostEvacuationItem[] = [];
  const report = (item: HostEvacuationItem) => {
    items.push(item);
    request.onItem?.(item);
  };
  const inFlight = new Map<StartedMigration, Promise<void>>();
  for (const instance of instances) {
    while (inFlight.size >= request.concurrency) await Promise.race(inFlight.values());
    let started: StartedMigration;
    try {
      started = await startEvacuation(db, client, config, {
        instance: instance.uuid,
        requestedBy: request.requestedBy,
      });
    } catch (error) {
      if (!(error instanceof RequestError)) throw error;
      report(item(instance.name, null, 'refused', { error: error.message }));
      continue;
    }
    inFlight.set(
      started,
      evacuationEnd(client, started).then((ended) => {
        if (!inFlight.delete(started)) return;
        report(ended);
      }),
    );
  }
  if (request.wait) await Promise.all(inFlight.values());
  for (const started of inFlight.keys()) {
    report(item(started.instanceName, started.migrationUuid, 'started'));
  }
  inFlight.clear();
  return items;
}

function item(
  instance: string,
  migrationUuid: string | null,
  outcome: string,
  more: { destHost?: string | null; error?: string | null } = {},
): HostEvacuationItem {
  return {
    instance,
    migrationUuid,
    outcome,
    destHost: more.destHost ?? null,
    error: more.error ?? null,
  };
}

/** How a started evacuation ended, from its workflow's result. */
export async function evacuationEnd(
  client: Client,
  started: StartedMigration,
): Promise<HostEvacuationItem> {
  try {
    const state = (await client.workflow.getHandle(started.workflowId).result()) as EvacuationState;
    return item(started.instanceName, started.migrationUuid, state.status, {
      destHost: state.destHost,
    });
  } catch (error) {
    const state = failedState(error);
    return item(started.instanceName, started.migrationUuid, 'failed', {
      destHost: state?.destHost ?? null,
      error:
        error instanceof WorkflowFailedError
          ? (error.cause?.message ?? error.message)
          : String(error),
    });
  }
}

function failedState(error: unknown): EvacuationState | undefined {
  if (error instanceof WorkflowFailedError && error.cause instanceof ApplicationFailure) {
    return error.cause.details?.[0] as EvacuationState | undefined;
  }
  return undefined;
}
