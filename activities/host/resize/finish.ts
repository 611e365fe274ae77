/**
 * The destination's step (the source's, for a resize on the same host): the instance's dirs made,
 * its disks checked to be there, the root disk grown to the new flavor's size (never shrunk), the
 * domain defined with the new vCPUs and memory and started. Idempotent.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ResizeHostActivities } from '../../../workflows/resize-contract';
import { resolveInstancePath } from '../../../virt/instance-paths';
import { parseDomainXml } from '../../../virt/libvirt/live-migration-xml';
import { migrationFailure } from '../live-migration/failures';
import { qemuImgInfo, qemuImgResize } from '../../../virt/qemu-img';
import type { ResizeAgentContext } from './context';
import { defineInstance } from './define-instance';
import { resizeDomainXml } from '../../../virt/libvirt/resize-xml';
import { insideInstancesDir, pathExists } from './instance-files';

type FinishRequest = Parameters<ResizeHostActivities['finishResizeAtDestination']>[0];

const GIB = 1024 ** 3;

export async function finishResize(
  context: ResizeAgentContext,
  request: FinishRequest,
): Promise<{ domainXml: string }> {
  const { rootDiskGiB } = request.size;
  if (!Number.isSafeInteger(rootDiskGiB) || rootDiskGiB < 0) {
    throw migrationFailure(
      'MigrationError',
      `root disk size must be a whole number of GiB, not ${rootDiskGiB}`,
    );
  }
  const xml = resizeDomainXml(request.domainXml, request.size);
  const logs = insideInstancesDir(context.instancesDir, parseDomainXml(xml).consoleFiles);
  for (const path of [...request.disks.map((disk) => disk.path), ...logs]) {
    await mkdir(dirname(await resolveInstancePath(context.instancesDir, path)), {
      recursive: true,
    });
  }
  for (const disk of request.disks) {
    if (!(await pathExists(await resolveInstancePath(context.instancesDir, disk.path)))) {
      throw migrationFailure(
        'MigrationError',
        `instance ${request.instanceUuid}'s disk ${disk.target} is not on ${context.hostName} ` +
          `at ${disk.path}: it must be copied there first`,
      );
    }
  }
  const [root] = request.disks;
  const rootBytes = rootDiskGiB * GIB;
  if (root !== undefined && rootBytes > (await qemuImgInfo(root.path)).virtualSize) {
    await qemuImgResize(root.path, rootBytes);
  }
  await context.hypervisor.withConnection(context.libvirtUri, (conn) =>
    defineInstance(conn, { instanceUuid: request.instanceUuid, xml, start: request.start }),
  );
  return { domainXml: xml };
}
