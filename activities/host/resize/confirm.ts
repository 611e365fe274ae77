/**
 * The source's end of a confirmed resize: the old domain undefined and its log files in the
 * instances dir deleted, unless the instance runs here (a resize on the same host kept its
 * domain); then the aside dir, with the old disks, deleted, and the directories left empty
 * removed. The domain is undefined after its log files are gone, so that a retry still finds them
 * in its definition. On shared storage the log files stay: they are the destination's too.
 * Idempotent.
 */
import { rm } from 'node:fs/promises';
import type { ResizeHostActivities } from '../../../workflows/resize-contract';
import { undefineDomain } from '../../../virt/libvirt/domain-lifecycle';
import { resolveInstancePath } from '../../../virt/instance-paths';
import { DOMAIN_XML } from '../../../virt/libvirt/binding';
import { parseDomainXml } from '../../../virt/libvirt/live-migration-xml';
import { findDomain, isActive } from '../../../virt/libvirt/domain-lookup';
import type { ResizeAgentContext } from './context';
import { confineAsideDir, insideInstancesDir, removeEmptyDirs } from './instance-files';

type ConfirmRequest = Parameters<ResizeHostActivities['confirmResizeAtSource']>[0];

/**
 * Undefines the instance's domain here unless it runs; returns the log files it deleted: none on
 * shared storage, where the destination's domain writes to the same files.
 */
function removeOldDomain(
  context: ResizeAgentContext,
  instanceUuid: string,
  sharedStorage: boolean,
): Promise<string[]> {
  return context.hypervisor.withConnection(context.libvirtUri, async (conn) => {
    const domain = await findDomain(conn, instanceUuid);
    if (!domain) return [];
    let logs: string[];
    try {
      if (await isActive(domain)) return [];
      logs = sharedStorage
        ? []
        : insideInstancesDir(
            context.instancesDir,
            parseDomainXml(await domain.getXMLDesc(DOMAIN_XML.INACTIVE)).consoleFiles,
          );
    } finally {
      await domain.close();
    }
    for (const path of logs) {
      await rm(await resolveInstancePath(context.instancesDir, path), { force: true });
    }
    await undefineDomain(conn, instanceUuid);
    return logs;
  });
}

export async function confirmAtSource(
  context: ResizeAgentContext,
  request: ConfirmRequest,
): Promise<void> {
  const asideDir =
    request.asideDir === null
      ? null
      : await resolveInstancePath(
          context.instancesDir,
          confineAsideDir(context.instancesDir, request.asideDir),
        );
  const logs = await removeOldDomain(context, request.instanceUuid, request.sharedStorage === true);
  if (asideDir !== null) await rm(asideDir, { recursive: true, force: true });
  await removeEmptyDirs(context.instancesDir, logs);
}
