/**
 * Takes over domains that already exist on a host: each one ferry does not know yet (by UUID)
 * becomes an Instance of the flavor of its size. Nothing is guessed: a domain whose size, state or
 * definition does not say what the instance is gets skipped, with the reason.
 */
import type { Database } from '../db/database';
import { InstancePathError, confineInstancePath } from '../virt/instance-paths';
import { DOMAIN_STATE, DOMAIN_XML, openConnection, type Connection } from '../virt/libvirt/binding';
import { findDomain } from '../virt/libvirt/domain-lookup';
import { parseDomainXml } from '../virt/libvirt/live-migration-xml';
import type { Flavor, Host } from '../db/models';
import { instanceStatus, type InstanceStatus } from './instance-status';
import { RequestError } from './request-error';

export interface ImportedInstance {
  name: string;
  uuid: string;
  powerState: 'running' | 'shutdown';
  /** ACTIVE or SHUTOFF. */
  status: InstanceStatus;
  flavor: string;
  vcpus: number;
  memoryMiB: number;
  /** What ferry will refuse to do with it until it changes (disks it cannot move). */
  warnings: string[];
}

export interface SkippedDomain {
  name: string;
  uuid: string;
  reason: string;
}

export interface ImportResult {
  host: string;
  imported: ImportedInstance[];
  skipped: SkippedDomain[];
}

/** What import reads of a domain. */
interface DomainFacts {
  name: string;
  uuid: string;
  state: number;
  vcpus: number;
  memoryKiB: number;
  persistent: boolean;
  /** Its persistent definition, recorded for an evacuation (docs/evacuate.md). */
  definition: string;
  warnings: string[];
}

const STATE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(DOMAIN_STATE).map(([name, value]) => [value, name.toLowerCase()]),
);

/** The power state an imported instance gets: running (blocked is running) or shut off. */
function powerState(state: number): 'running' | 'shutdown' | null {
  if (state === DOMAIN_STATE.RUNNING || state === DOMAIN_STATE.BLOCKED) return 'running';
  if (state === DOMAIN_STATE.SHUTOFF) return 'shutdown';
  return null;
}

/** The disks the live migration and resize pre-checks will refuse, each as a warning. */
function diskWarnings(xml: string, instancesDir: string): string[] {
  return parseDomainXml(xml).disks.flatMap((disk) => {
    if (disk.type !== 'file' || disk.path === null) {
      return [`disk ${disk.target} is a ${disk.type} disk: ferry moves file-backed disks only`];
    }
    try {
      confineInstancePath(instancesDir, disk.path);
      return [];
    } catch (error) {
      if (!(error instanceof InstancePathError)) throw error;
      return [
        `disk ${disk.target} (${disk.path}) is outside the instances dir ${instancesDir}: ferry moves only disks it keeps there`,
      ];
    }
  });
}

/** The domain's facts; null when it went away after it was listed. */
async function readDomain(
  conn: Connection,
  uuid: string,
  instancesDir: string,
): Promise<DomainFacts | null> {
  const domain = await findDomain(conn, uuid);
  if (!domain) return null;
  try {
    const [info, persistent, xml, definition] = await Promise.all([
      domain.getInfo(),
      domain.isPersistent(),
      domain.getXMLDesc(),
      domain.getXMLDesc(DOMAIN_XML.INACTIVE),
    ]);
    return {
      name: domain.getName(),
      uuid,
      state: info.state,
      vcpus: info.nrVirtCpu,
      memoryKiB: info.maxMem,
      persistent,
      definition,
      warnings: diskWarnings(xml, instancesDir),
    };
  } finally {
    await domain.close();
  }
}

/** Every domain defined or running on the host, by name; read-only. */
async function readDomains(host: Host): Promise<DomainFacts[]> {
  let conn: Connection;
  try {
    conn = await openConnection(host.libvirtUri, { readOnly: true });
  } catch (error) {
    throw new Error(
      `cannot reach ${host.name}'s libvirt at ${host.libvirtUri}: ${(error as Error).message}`,
    );
  }
  try {
    const domains: DomainFacts[] = [];
    for (const { uuid } of await conn.listAllDomains()) {
      const domain = await readDomain(conn, uuid, host.instancesDir);
      if (domain) domains.push(domain);
    }
    return domains.sort((a, b) => a.name.localeCompare(b.name));
  } finally {
    await conn.close();
  }
}

/** The flavor a user named, by id or name; FlavorNotFound or FlavorDisabled otherwise. */
async function namedFlavor(db: Database, idOrName: string): Promise<Flavor> {
  const flavor = await db.flavor.findFirst({
    where: { OR: [{ id: idOrName }, { name: idOrName }] },
  });
  if (!flavor) {
    throw new RequestError('FlavorNotFound', 400, `flavor ${idOrName} could not be found`);
  }
  if (flavor.disabled) {
    throw new RequestError('FlavorDisabled', 400, `flavor ${flavor.name} is disabled`);
  }
  return flavor;
}

const describeSize = (vcpus: number, memoryKiB: number) =>
  `${vcpus} vCPU${vcpus === 1 ? '' : 's'} and ${memoryKiB % 1024 === 0 ? `${memoryKiB / 1024} MiB` : `${memoryKiB} KiB`}`;

/** The one flavor of the domain's size among `flavors`, or why there is none to take. */
function flavorFor(
  domain: DomainFacts,
  flavors: Flavor[],
  named: boolean,
): { flavor: Flavor } | { reason: string } {
  const size = describeSize(domain.vcpus, domain.memoryKiB);
  const matching = flavors.filter(
    (flavor) => flavor.vcpus === domain.vcpus && flavor.memoryMiB * 1024 === domain.memoryKiB,
  );
  if (matching.length === 1) return { flavor: matching[0] };
  if (named) {
    const [flavor] = flavors;
    return {
      reason: `it has ${size}; flavor ${flavor.name} has ${describeSize(flavor.vcpus, flavor.memoryMiB * 1024)}`,
    };
  }
  if (matching.length === 0) {
    return { reason: `no enabled flavor has ${size} (ferry flavors create one)` };
  }
  return {
    reason: `flavors ${matching.map((flavor) => flavor.name).join(', ')} all have ${size}: name one with --flavor`,
  };
}

/**
 * Registers the domains on `hostName` that ferry does not know yet, with the flavor named (which
 * must have their vCPUs and memory) or else the one enabled flavor of exactly their size. Running
 * domains become running ACTIVE instances, shut-off ones SHUTOFF instances.
 */
export async function importInstances(
  db: Database,
  request: { host: string; flavor?: string },
): Promise<ImportResult> {
  const host = await db.host.findUnique({ where: { name: request.host } });
  if (!host) {
    throw new RequestError(
      'ComputeHostNotFound',
      404,
      `compute host ${request.host} could not be found`,
    );
  }
  const flavors =
    request.flavor === undefined
      ? await db.flavor.findMany({ where: { disabled: false } })
      : [await namedFlavor(db, request.flavor)];
  const domains = await readDomains(host);
  const known = await db.instance.findMany({
    where: {
      OR: [
        { uuid: { in: domains.map((domain) => domain.uuid) } },
        { name: { in: domains.map((domain) => domain.name) } },
      ],
    },
  });
  const result: ImportResult = { host: host.name, imported: [], skipped: [] };
  for (const domain of domains) {
    const skip = (reason: string) =>
      result.skipped.push({ name: domain.name, uuid: domain.uuid, reason });
    const sameUuid = known.find((instance) => instance.uuid === domain.uuid);
    const sameName = known.find((instance) => instance.name === domain.name);
    const power = powerState(domain.state);
    const choice = flavorFor(domain, flavors, request.flavor !== undefined);
    if (sameUuid) {
      skip(`already known: instance ${sameUuid.name} on host ${sameUuid.hostName}`);
    } else if (sameName) {
      skip(`the name is taken by instance ${sameName.uuid} on host ${sameName.hostName}`);
    } else if (!domain.persistent) {
      skip('it is transient (not defined persistently): define it, then import again');
    } else if (power === null) {
      skip(
        `it is ${STATE_NAMES[domain.state] ?? `in state ${domain.state}`}: import it when it is running or shut off`,
      );
    } else if ('reason' in choice) {
      skip(choice.reason);
    } else {
      const instance = await db.instance.create({
        data: {
          uuid: domain.uuid,
          name: domain.name,
          hostName: host.name,
          flavorId: choice.flavor.id,
          vmState: 'active',
          powerState: power,
          domainXml: domain.definition,
        },
      });
      result.imported.push({
        name: domain.name,
        uuid: domain.uuid,
        powerState: power,
        status: instanceStatus(instance),
        flavor: choice.flavor.name,
        vcpus: domain.vcpus,
        memoryMiB: choice.flavor.memoryMiB,
        warnings: domain.warnings,
      });
    }
  }
  return result;
}
