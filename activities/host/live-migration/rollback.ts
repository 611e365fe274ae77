/**
 * Undoing and finishing on the hosts: the destination's rollback after a failed migration, and
 * the source's clean-up after a completed one. Both idempotent, both confined to the instances dir.
 */
import { rm } from 'node:fs/promises';
import type { InstanceDisk } from '../../../workflows/operation-types';
import type { HostAgentContext } from '../index';
import { destroyDomain, undefineDomain } from '../../../virt/libvirt/domain-lifecycle';
import { resolveInstancePath } from '../../../virt/instance-paths';
import { removeEmptyDirs } from '../resize/instance-files';
import { findDomain, inPostCopy } from '../../../virt/libvirt/domain-lookup';
import { migrationFailure } from './failures';

type HostContext = Pick<
  HostAgentContext,
  'hostName' | 'hypervisor' | 'libvirtUri' | 'instancesDir'
>;

/** Removes each path (a file, or a directory with what is in it), last created first. */
async function removeAll(instancesDir: string, paths: readonly string[]): Promise<void> {
  for (const path of [...paths].reverse()) {
    await rm(await resolveInstancePath(instancesDir, path), { recursive: true, force: true });
  }
}

/**
 * Destroys and undefines the instance's domain here, if there is one, then deletes `created`.
 * Never a domain in post-copy: it runs the guest, whose newest memory only it holds.
 */
export async function rollbackAtDestination(
  context: HostContext,
  request: { instanceUuid: string; created: string[] },
): Promise<void> {
  await context.hypervisor.withConnection(context.libvirtUri, async (conn) => {
    const domain = await findDomain(conn, request.instanceUuid);
    if (!domain) return;
    try {
      if (inPostCopy(await domain.getState())) {
        throw migrationFailure(
          'MigrationError',
          `instance ${request.instanceUuid} on ${context.hostName} is in a post-copy migration: ` +
            'it runs the guest, with memory only it holds; refusing to destroy it',
        );
      }
      await destroyDomain(domain);
    } finally {
      await domain.close();
    }
    await undefineDomain(conn, request.instanceUuid);
  });
  await removeAll(context.instancesDir, request.created);
}

/**
 * Deletes the instance's disks and console logs here after a migration off unshared storage, and
 * the directories that leaves empty, unless a domain of the instance is still defined here (then
 * the files may still be in use, and nothing is deleted). Only the files the domain named: a
 * directory holding anything else stays.
 */
export async function cleanupSource(
  context: HostContext,
  request: {
    instanceUuid: string;
    disks: InstanceDisk[];
    consoleFiles: string[];
    sharedStorage: boolean;
  },
): Promise<void> {
  if (request.sharedStorage) return;
  const defined = await context.hypervisor.withConnection(context.libvirtUri, async (conn) => {
    const domain = await findDomain(conn, request.instanceUuid);
    await domain?.close();
    return domain !== null;
  });
  if (defined) return;
  const files = [...request.disks.map((disk) => disk.path), ...request.consoleFiles];
  await removeAll(context.instancesDir, files);
  await removeEmptyDirs(context.instancesDir, files);
}
