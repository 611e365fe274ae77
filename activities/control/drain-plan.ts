/**
 * A drain's plan (docs/drain.md, "The plan"): what each instance on the host gets, read from the
 * database. A dry run adds where the scheduler would put each now, without claiming anything.
 */
import type { Database } from '../../db/database';
import type { DatabaseClient } from '../../db/transactions';
import { flavorResources, readHostStates } from '../../db/host-state';
import type { Instance } from '../../db/models';
import { liveMigrationRefusal, resizeRefusal } from '../../db/record-migration';
import type { DrainAction, DrainItem } from '../../workflows/drain-contract';
import { placeInstance } from './placement';

function item(instance: Instance, action: DrainAction, reason: string | null): DrainItem {
  return {
    instanceUuid: instance.uuid,
    instanceName: instance.name,
    action,
    state: action === 'none' ? 'left' : 'planned',
    reason,
    attempts: 0,
    destHost: null,
    requestedHost: null,
    lastMigrationUuid: null,
  };
}

/** Running → live, stopped → cold, anything else left with the reason it cannot move. */
export function planInstance(instance: Instance, excluded: boolean): DrainItem {
  if (excluded) return item(instance, 'none', 'excluded');
  if (instance.vmState === 'error')
    return item(instance, 'none', `instance ${instance.name} is in ERROR`);
  const live = liveMigrationRefusal(instance);
  if (live === null) return item(instance, 'live', null);
  const cold = resizeRefusal(instance, 'migration');
  if (cold === null) return item(instance, 'cold', null);
  return item(instance, 'none', (live.type === 'InstanceInvalidState' ? cold : live).message);
}

/** Every instance on `host`, by name, planned; `exclude` holds names or UUIDs. */
export async function planDrain(
  db: DatabaseClient,
  request: { host: string; exclude: string[] },
): Promise<DrainItem[]> {
  const instances = await db.instance.findMany({
    where: { hostName: request.host },
    orderBy: { name: 'asc' },
  });
  const excluded = new Set(request.exclude);
  return instances.map((instance) =>
    planInstance(instance, excluded.has(instance.uuid) || excluded.has(instance.name)),
  );
}

/** The plan with, for each instance that moves, the host the scheduler would choose now. */
export async function planDrainDryRun(
  db: Database,
  request: { host: string; exclude: string[] },
): Promise<DrainItem[]> {
  const items = await planDrain(db, request);
  const [source] = await readHostStates(db, { names: [request.host] });
  for (const planned of items) {
    if (planned.action === 'none') continue;
    const instance = await db.instance.findUniqueOrThrow({
      where: { uuid: planned.instanceUuid },
      include: { flavor: true },
    });
    const [best] = await placeInstance(db, {
      sourceHost: request.host,
      source,
      ignoreHosts: [],
      needs: flavorResources(instance.flavor),
      excludeMigrationId: -1,
      excludeInstanceUuid: instance.uuid,
      limit: 1,
    });
    planned.destHost = best ?? null;
    if (best === undefined) planned.reason = 'no valid host now';
  }
  return items;
}
