/**
 * The source's undo (revert, or rollback of a failed resize): the disks moved back from the aside
 * dir (which is then deleted), the old definition defined again, and the domain started when
 * `start` and not running yet. A domain already running keeps running as it is: its new definition
 * takes effect at its next start. Idempotent.
 */
import { rm } from 'node:fs/promises';
import type { ResizeHostActivities } from '../../../workflows/resize-contract';
import { resolveInstancePath } from '../../../virt/instance-paths';
import type { ResizeAgentContext } from './context';
import { defineInstance } from './define-instance';
import { confineAsideDir, moveFile } from './instance-files';
import { locateSourceDisks } from './source-disks';

type RestoreRequest = Parameters<ResizeHostActivities['restoreSource']>[0];

export async function restoreAtSource(
  context: ResizeAgentContext,
  request: RestoreRequest,
): Promise<void> {
  const subject = `instance ${request.instanceUuid}`;
  const asideDir =
    request.asideDir === null
      ? null
      : await resolveInstancePath(
          context.instancesDir,
          confineAsideDir(context.instancesDir, request.asideDir),
        );
  const disks = request.disks.map((disk) => ({ ...disk, type: 'file' }));
  const located = await locateSourceDisks(context, subject, disks, asideDir);
  for (const { disk, location, aside } of located) {
    if (aside !== null && location === aside) {
      await moveFile(aside, await resolveInstancePath(context.instancesDir, disk.path));
    }
  }
  if (asideDir !== null) await rm(asideDir, { recursive: true, force: true });
  await context.hypervisor.withConnection(context.libvirtUri, (conn) =>
    defineInstance(conn, {
      instanceUuid: request.instanceUuid,
      xml: request.domainXml,
      start: request.start,
    }),
  );
}
