/**
 * A fleet of sim hosts (docs/sim-driver.md) recorded in a ferry database and in a SimFleet alike:
 * hosts big enough that capacity never refuses, and running instances of one small flavor placed
 * as the caller says. Shared by the scale tests and the sim benchmarks.
 */
import type { Database } from '../../db/database';
import { SimFleet } from '../../virt/sim/fleet';

/** Nova's m1.tiny-sized guest: 512 MiB takes the sim half a second to copy. */
export const SIM_FLAVOR = {
  id: 'sim-flavor',
  name: 'sim.small',
  vcpus: 1,
  memoryMiB: 512,
  rootDiskGiB: 1,
};

export const simHostName = (i: number) => `sim${String(i).padStart(3, '0')}`;

export interface SimInstance {
  uuid: string;
  name: string;
  hostName: string;
}

/**
 * `hosts` sim hosts and `instances` running instances, instance i on host `placeOn(i)` (by
 * default spread evenly), in the database and the fleet. Returns the instances.
 */
export async function populateSimFleet(
  db: Database,
  fleet: SimFleet,
  options: { hosts: number; instances: number; placeOn?: (i: number) => number },
): Promise<SimInstance[]> {
  const placeOn = options.placeOn ?? ((i: number) => i % options.hosts);
  await db.flavor.create({ data: SIM_FLAVOR });
  const hosts = Array.from({ length: options.hosts }, (_, i) => ({
    name: simHostName(i),
    libvirtUri: SimFleet.uri(simHostName(i)),
    arch: 'x86_64',
    hypervisorType: 'QEMU',
    hypervisorVersion: 8_002_000,
    vcpusTotal: 64,
    memoryMiBTotal: 256 * 1024,
    diskGiBTotal: 4000,
  }));
  await db.host.createMany({ data: hosts });
  hosts.forEach((host) => fleet.addHost(host.name));
  const instances = Array.from({ length: options.instances }, (_, i) => ({
    uuid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    name: `vm${i}`,
    hostName: simHostName(placeOn(i)),
    flavorId: SIM_FLAVOR.id,
  }));
  await db.instance.createMany({ data: instances });
  for (const instance of instances) {
    fleet.define(instance.hostName, {
      uuid: instance.uuid,
      name: instance.name,
      memoryMiB: SIM_FLAVOR.memoryMiB,
      vcpus: SIM_FLAVOR.vcpus,
    });
  }
  return instances.map(({ uuid, name, hostName }) => ({ uuid, name, hostName }));
}
