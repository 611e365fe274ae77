/**
 * The disks of an instance on its source host, as the resize moves and copies them: file-backed,
 * inside one instance dir, each found either at its own path or, once set aside, in the aside dir.
 */
import type { InstanceDisk } from '../../../workflows/operation-types';
import { resolveInstancePath } from '../../../virt/instance-paths';
import { parseDomainXml, type DomainDisk } from '../../../virt/libvirt/live-migration-xml';
import { migrationFailure } from '../live-migration/failures';
import { qemuImgInfo } from '../../../virt/qemu-img';
import type { ResizeAgentContext } from './context';
import { asidePath, pathExists } from './instance-files';

type DisksContext = Pick<ResizeAgentContext, 'hostName' | 'instancesDir'>;

export interface SourceDisk {
  disk: InstanceDisk;
  /** Where the disk is now (resolved): its own path, or its aside path. */
  location: string;
  /** Its aside path (resolved), null when not setting disks aside. */
  aside: string | null;
  /** The image's backing file, which a move or copy of the image would not take along. */
  backingFile: string | null;
}

/** The definition's disks (device disk, with a source file), refusing any not backed by a file. */
export function fileDisks(subject: string, xml: string): Array<DomainDisk & { path: string }> {
  const disks = parseDomainXml(xml).disks;
  const other = disks.find((disk) => disk.type !== 'file');
  if (other) {
    throw migrationFailure(
      'MigrationError',
      `${subject}'s disk ${other.target} is a ${other.type} disk: ferry resizes instances with ` +
        'file-backed disks only',
    );
  }
  return disks.filter((disk): disk is DomainDisk & { path: string } => disk.path !== null);
}

/** Finds each disk at its path or aside, and describes it; nothing is moved. */
export async function locateSourceDisks(
  context: DisksContext,
  subject: string,
  disks: Array<DomainDisk & { path: string }>,
  asideDir: string | null,
): Promise<SourceDisk[]> {
  const located: SourceDisk[] = [];
  for (const disk of disks) {
    const own = await resolveInstancePath(context.instancesDir, disk.path);
    const aside =
      asideDir === null
        ? null
        : await resolveInstancePath(
            context.instancesDir,
            asidePath(context.instancesDir, asideDir, disk.path),
          );
    const [atOwn, atAside] = await Promise.all([pathExists(own), aside && pathExists(aside)]);
    const where = `${own}${aside === null ? '' : ` or ${aside}`}`;
    if (atOwn && atAside) {
      throw migrationFailure(
        'MigrationError',
        `${subject}'s disk ${disk.target} is both at ${own} and at ${aside} on ` +
          `${context.hostName}: an earlier resize left a disk aside; resolve it by hand`,
      );
    }
    if (!atOwn && !atAside) {
      throw migrationFailure(
        'MigrationError',
        `${subject}'s disk ${disk.target} is missing on ${context.hostName}: not at ${where}`,
      );
    }
    const location = atAside ? (aside as string) : own;
    const info = await qemuImgInfo(location);
    located.push({
      disk: {
        target: disk.target,
        path: disk.path,
        format: disk.format ?? info.format,
        virtualSizeBytes: info.virtualSize,
      },
      location,
      aside,
      backingFile: info.backingFilename ?? null,
    });
  }
  return located;
}
