import type { Database } from '../db/database';
import type { Instance } from '../db/models';
import { RequestError } from './request-error';

/** The instance a user named by UUID or by name; InstanceNotFound (404) when there is none. */
export async function findInstance(db: Database, nameOrUuid: string): Promise<Instance> {
  const instance = await db.instance.findFirst({
    where: { OR: [{ uuid: nameOrUuid }, { name: nameOrUuid }] },
  });
  if (!instance) {
    throw new RequestError('InstanceNotFound', 404, `instance ${nameOrUuid} could not be found`);
  }
  return instance;
}
