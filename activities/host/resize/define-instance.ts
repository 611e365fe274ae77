/** Defining the instance's domain from a definition the workflow carries, and starting it. */
import { defineDomain, startDomain } from '../../../virt/libvirt/domain-lifecycle';
import type { HypervisorConnection as Connection } from '../../../virt/driver';
import { migrationFailure } from '../live-migration/failures';
import { domainUuid } from '../../../virt/libvirt/resize-xml';

/**
 * Defines (or redefines) the domain from `xml`, which must be the instance's own, and starts it
 * when `start` and it is not running yet.
 */
export async function defineInstance(
  conn: Connection,
  request: { instanceUuid: string; xml: string; start: boolean },
): Promise<void> {
  const uuid = domainUuid(request.xml);
  if (uuid !== request.instanceUuid.toLowerCase()) {
    throw migrationFailure(
      'MigrationError',
      `the domain definition given for instance ${request.instanceUuid} is of UUID ${uuid}`,
    );
  }
  const domain = await defineDomain(conn, request.xml);
  try {
    if (request.start) await startDomain(domain);
  } finally {
    await domain.close();
  }
}
