/** The lab in ferry's database: its hosts as Host rows, its guests as instances. */
import type { Database } from '../db/database';
import type { LabGuest } from './guest';
import type { LabHost } from './state';

/** The flavor lab guests get: what `ferry lab guest` boots by default. */
export const LAB_FLAVOR = {
  id: 'lab.tiny',
  name: 'lab.tiny',
  vcpus: 1,
  memoryMiB: 128,
  rootDiskGiB: 1,
};

/**
 * Registers (or updates) each lab host. Its libvirt URI is the one agents and peers use inside the
 * lab; SSH is checked against the host key the lab generated.
 */
export async function registerLabHosts(db: Database, hosts: LabHost[]): Promise<void> {
  for (const host of hosts) {
    const data = {
      state: 'up',
      libvirtUri: host.libvirtUriInLab,
      sshAddress: host.address,
      sshPort: host.sshPort,
      sshHostKey: host.sshHostPublicKey,
      instancesDir: host.instancesDir,
    };
    await db.host.upsert({
      where: { name: host.name },
      create: { name: host.name, ...data },
      update: data,
    });
  }
}

/**
 * Registers a booted lab guest as an ACTIVE, running instance of the lab flavor, with its domain
 * definition as ferry records every instance's (docs/evacuate.md).
 */
export async function registerLabGuest(
  db: Database,
  guest: LabGuest,
  domainXml: string,
): Promise<void> {
  await db.flavor.upsert({ where: { id: LAB_FLAVOR.id }, create: LAB_FLAVOR, update: {} });
  const data = {
    name: guest.name,
    hostName: guest.host,
    flavorId: LAB_FLAVOR.id,
    vmState: 'active',
    powerState: 'running',
    taskState: null,
    domainXml,
  };
  await db.instance.upsert({
    where: { uuid: guest.uuid },
    create: { uuid: guest.uuid, ...data },
    update: data,
  });
}

/**
 * Removes what the database says about lab hosts that no longer exist, so it does not claim
 * instances that are gone: their instances' migrations, claims and actions, the instances, the hosts.
 */
export async function forgetLabHosts(db: Database, hostNames: string[]): Promise<void> {
  const instances = await db.instance.findMany({
    where: { hostName: { in: hostNames } },
    select: { uuid: true },
  });
  const uuids = instances.map((instance) => instance.uuid);
  const touching = {
    OR: [
      { instanceUuid: { in: uuids } },
      { sourceHost: { in: hostNames } },
      { destHost: { in: hostNames } },
    ],
  };
  await db.$transaction([
    db.resourceClaim.deleteMany({
      where: { OR: [{ hostName: { in: hostNames } }, { instanceUuid: { in: uuids } }] },
    }),
    db.instanceActionEvent.deleteMany({ where: { action: { instanceUuid: { in: uuids } } } }),
    db.instanceAction.deleteMany({ where: { instanceUuid: { in: uuids } } }),
    db.migration.deleteMany({ where: touching }),
    db.instance.deleteMany({ where: { uuid: { in: uuids } } }),
    db.host.deleteMany({ where: { name: { in: hostNames } } }),
  ]);
}
