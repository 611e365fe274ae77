/**
 * A host agent's evacuation activities (the EvacuateHostActivities contract, docs/evacuate.md):
 * the destination's checks (the source fenced, the disks seen here), the domain defined and
 * started from the recorded definition, and the destroy and undefine that never touch a disk.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { log } from '@temporalio/activity';
import type { EvacuateHostActivities } from '../../../workflows/evacuate-contract';
import { resolveInstancePath, InstancePathError } from '../../../virt/instance-paths';
import { destroyDomain, undefineDomain } from '../../../virt/libvirt/domain-lifecycle';
import { findDomain } from '../../../virt/libvirt/domain-lookup';
import { parseDomainXml } from '../../../virt/libvirt/live-migration-xml';
import { migrationFailure } from '../live-migration/failures';
import type { ResizeAgentContext } from '../resize/context';
import { defineInstance } from '../resize/define-instance';
import { resizeFailure } from '../resize/failures';
import { insideInstancesDir, pathExists } from '../resize/instance-files';
import { refuseUnlessFenced } from './fence-check';

type EvacuateContext = Pick<
  ResizeAgentContext,
  'hostName' | 'hypervisor' | 'libvirtUri' | 'instancesDir'
>;

/** Refuses (InvalidSharedStorage) a disk this host does not see in its instances dir. */
async function refuseUnseenDisk(context: EvacuateContext, path: string): Promise<void> {
  const unseen = (why: string) =>
    migrationFailure(
      'InvalidSharedStorage',
      `disk ${path} ${why} on ${context.hostName}: an evacuation needs the disks on storage the destination sees, since ferry keeps no image to rebuild an instance from`,
    );
  let resolved: string;
  try {
    resolved = await resolveInstancePath(context.instancesDir, path);
  } catch (error) {
    if (error instanceof InstancePathError)
      throw unseen(`is outside the instances dir ${context.instancesDir}`);
    throw error;
  }
  if (!(await pathExists(resolved))) throw unseen('is not there');
}

export function createEvacuateActivities(context: EvacuateContext): EvacuateHostActivities {
  const { hypervisor, libvirtUri } = context;
  return {
    async checkEvacuationDestination({ instanceUuid, fenceUri, domainXml }) {
      if (fenceUri !== null) {
        const reason = await refuseUnlessFenced(hypervisor, {
          uri: fenceUri,
          askedFrom: context.hostName,
        });
        log.info('the source does not answer: fenced', { fenceUri, reason });
      }
      for (const disk of parseDomainXml(domainXml).disks) {
        if (disk.type !== 'file' || disk.path === null) {
          throw migrationFailure(
            'InvalidSharedStorage',
            `disk ${disk.target} is a ${disk.type} disk: ferry evacuates only file disks on storage the destination sees`,
          );
        }
        await refuseUnseenDisk(context, disk.path);
      }
      await hypervisor.withConnection(libvirtUri, async (conn) => {
        const domain = await findDomain(conn, instanceUuid);
        if (!domain) return;
        await domain.close();
        throw migrationFailure(
          'MigrationPreCheckError',
          `${context.hostName} already has a domain of instance ${instanceUuid}`,
        );
      });
    },

    async defineEvacuatedInstance({ instanceUuid, domainXml, start }) {
      try {
        // The console logs' dirs, which a destination without the instance's storage lacks
        // (a diskless instance needs no shared storage).
        const logs = insideInstancesDir(
          context.instancesDir,
          parseDomainXml(domainXml).consoleFiles,
        );
        for (const file of logs) {
          await mkdir(dirname(await resolveInstancePath(context.instancesDir, file)), {
            recursive: true,
          });
        }
        await hypervisor.withConnection(libvirtUri, (conn) =>
          defineInstance(conn, { instanceUuid, xml: domainXml, start }),
        );
      } catch (error) {
        // A start libvirt refuses (the disk's image lock held by a QEMU still running elsewhere)
        // is not retried: the workflow undoes the definition and fails.
        throw resizeFailure(error, `defineEvacuatedInstance on ${context.hostName}`);
      }
    },

    async destroyEvacuatedInstance({ instanceUuid }) {
      return hypervisor.withConnection(libvirtUri, async (conn) => {
        const domain = await findDomain(conn, instanceUuid);
        if (!domain) return { found: false };
        try {
          await destroyDomain(domain);
        } finally {
          await domain.close();
        }
        await undefineDomain(conn, instanceUuid);
        return { found: true };
      });
    },
  };
}
