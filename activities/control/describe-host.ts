import type { Database } from '../../db/database';
import { migrationFailure } from './migration-errors';

/** The Host row's name and libvirt URI (as its peers reach it); NoValidHost when not registered. */
export async function describeHost(
  db: Database,
  request: { host: string },
): Promise<{ name: string; libvirtUri: string }> {
  const host = await db.host.findUnique({
    where: { name: request.host },
    select: { name: true, libvirtUri: true },
  });
  if (!host) throw migrationFailure('NoValidHost', `host ${request.host} is not registered`);
  return host;
}
