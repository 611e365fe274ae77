/**
 * The destination's undo (revert, or rollback of a failed resize): the instance's domain here
 * destroyed and undefined, the listed disks and the domain's log files in the instances dir
 * deleted, and the directories left empty removed. The domain is undefined last, so that a retry
 * still finds its log files in its definition. Idempotent. Never for the host the instance's
 * disks were set aside on: for a resize on the same host these are the instance's only disks.
 */
import { rm } from 'node:fs/promises';
import type { ResizeHostActivities } from '../../../workflows/resize-contract';
import { destroyDomain, undefineDomain } from '../../../virt/libvirt/domain-lifecycle';
import { resolveInstancePath } from '../../../virt/instance-paths';
import { DOMAIN_XML } from '../../../virt/libvirt/binding';
import { parseDomainXml } from '../../../virt/libvirt/live-migration-xml';
import { findDomain } from '../../../virt/libvirt/domain-lookup';
import type { ResizeAgentContext } from './context';
import { insideInstancesDir, removeEmptyDirs } from './instance-files';

type RemoveRequest = Parameters<ResizeHostActivities['removeResizedInstance']>[0];

export function removeResized(context: ResizeAgentContext, request: RemoveRequest): Promise<void> {
  return context.hypervisor.withConnection(context.libvirtUri, async (conn) => {
    const domain = await findDomain(conn, request.instanceUuid);
    let logs: string[] = [];
    if (domain) {
      try {
        logs = insideInstancesDir(
          context.instancesDir,
          parseDomainXml(await domain.getXMLDesc(DOMAIN_XML.INACTIVE)).consoleFiles,
        );
        await destroyDomain(domain);
      } finally {
        await domain.close();
      }
    }
    const files = [...request.disks.map((disk) => disk.path), ...logs];
    for (const path of files) {
      await rm(await resolveInstancePath(context.instancesDir, path), { force: true });
    }
    await removeEmptyDirs(context.instancesDir, files);
    if (domain) await undefineDomain(conn, request.instanceUuid);
  });
}
