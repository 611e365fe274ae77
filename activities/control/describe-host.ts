import type { PeerHost } from '../../workflows/operation-types';
import type { Database } from '../../db/database';
import { migrationFailure } from './migration-errors';

/** The Host row as peers reach the host; NoValidHost when not registered. */
export async function describeHost(db: Database, request: { host: string }): Promise<PeerHost> {
  const host = await db.host.findUnique({
    where: { name: request.host },
    select: {
      name: true,
      libvirtUri: true,
      sshAddress: true,
      sshPort: true,
      sshHostKey: true,
      instancesDir: true,
    },
  });
  if (!host) throw migrationFailure('NoValidHost', `host ${request.host} is not registered`);
  return host;
}
