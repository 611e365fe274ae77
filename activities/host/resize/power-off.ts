/**
 * The source's first step: the instance's domain shut down (gracefully, destroyed at the timeout)
 * and left defined; with `setAside`, its disks moved into the aside dir beside the instance dir
 * (renames, on the same filesystem). A retry finds the domain off and the disks aside, and returns
 * the same snapshot.
 */
import { heartbeat } from '@temporalio/activity';
import type {
  ResizeHostActivities,
  ResizeSourceSnapshot,
} from '../../../workflows/resize-contract';
import { shutdownDomain } from '../../../virt/libvirt/domain-lifecycle';
import { resolveInstancePath } from '../../../virt/instance-paths';
import { DOMAIN_STATE, DOMAIN_XML } from '../../../virt/libvirt/binding';
import { findDomain } from '../../../virt/libvirt/domain-lookup';
import { migrationFailure } from '../live-migration/failures';
import type { ResizeAgentContext } from './context';
import { asideDirOf, instanceDirOf, moveFile } from './instance-files';
import { recallPowerOff, rememberPowerOff } from './power-off-record';
import { fileDisks, locateSourceDisks } from './source-disks';

type PowerOffRequest = Parameters<ResizeHostActivities['powerOffAndSetAsideSource']>[0];

const RUNNING_STATES: readonly number[] = [
  DOMAIN_STATE.RUNNING,
  DOMAIN_STATE.BLOCKED,
  DOMAIN_STATE.SHUTDOWN,
];

export function powerOffAndSetAside(
  context: ResizeAgentContext,
  request: PowerOffRequest,
): Promise<ResizeSourceSnapshot> {
  const { instanceUuid } = request;
  const subject = `instance ${instanceUuid}`;
  if (!Number.isFinite(request.shutdownTimeoutSeconds) || request.shutdownTimeoutSeconds < 0) {
    throw migrationFailure(
      'MigrationError',
      `shutdown timeout must be 0 or more seconds, not ${request.shutdownTimeoutSeconds}`,
    );
  }
  return context.hypervisor.withConnection(context.libvirtUri, async (conn) => {
    const domain = await findDomain(conn, instanceUuid);
    if (!domain) {
      throw migrationFailure('InstanceNotFound', `${subject} has no domain on ${context.hostName}`);
    }
    try {
      if (!(await domain.isPersistent())) {
        throw migrationFailure(
          'MigrationError',
          `${subject}'s domain on ${context.hostName} is transient: it would vanish at power-off`,
        );
      }
      const domainXml = await domain.getXMLDesc(DOMAIN_XML.INACTIVE);
      const disks = fileDisks(subject, domainXml);
      const instanceDir = instanceDirOf(
        context.instancesDir,
        disks.map((disk) => disk.path),
      );
      const asideDir =
        request.setAside && instanceDir !== null
          ? await resolveInstancePath(context.instancesDir, asideDirOf(instanceDir))
          : null;
      const located = await locateSourceDisks(context, subject, disks, asideDir);
      const layered = located.find((disk) => disk.backingFile !== null);
      if (asideDir !== null && layered) {
        throw migrationFailure(
          'MigrationError',
          `${subject}'s disk ${layered.disk.target} (${layered.disk.path}) has a backing file ` +
            `(${layered.backingFile}), which a copy would not take along: ferry moves standalone ` +
            'images only',
        );
      }

      const recalled = await recallPowerOff(asideDir);
      const wasRunning =
        recalled?.wasRunning ?? RUNNING_STATES.includes((await domain.getState()).state);
      await rememberPowerOff(asideDir, { wasRunning, powerOff: recalled?.powerOff ?? null });
      const outcome = await shutdownDomain(domain, {
        timeoutMs: request.shutdownTimeoutSeconds * 1000,
        onWait: () => heartbeat(),
      });
      const powerOff = recalled?.powerOff ?? outcome;
      await rememberPowerOff(asideDir, { wasRunning, powerOff });

      for (const { location, aside } of located) {
        if (aside !== null && location !== aside) await moveFile(location, aside);
      }
      return { domainXml, disks: located.map(({ disk }) => disk), asideDir, powerOff, wasRunning };
    } finally {
      await domain.close();
    }
  });
}
