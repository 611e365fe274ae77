/**
 * The `sim` host driver's hypervisors (like Nova's fake virt driver): an in-memory fleet of hosts
 * and their domains, for benchmarks and scale tests only, never a default. It keeps, per
 * instance, how long the simulated hypervisor worked on it, so a benchmark can tell the time the
 * hosts spent from the time ferry added.
 */
import type { InstanceDisk } from '../../../workflows/operation-types';

export interface SimDomain {
  uuid: string;
  name: string;
  memoryMiB: number;
  disks: InstanceDisk[];
  state: 'running' | 'paused';
}

/** What the simulated hypervisor's steps take, from libvirt's and QEMU's figures on the lab. */
export interface SimTimings {
  /** A libvirt call of a pre-check or lookup (virsh answers in about 20 ms). */
  callMs: number;
  /** Making the instance dir and pre-creating disks on the destination. */
  prepareMs: number;
  /** Setting up the peer-to-peer job before the first byte moves. */
  migrationSetupMs: number;
  /** Memory copied per second (a 10 GbE link with some loss to dirtying). */
  bandwidthMiBps: number;
  /** The final pause: stopped on the source, not yet running on the destination. */
  downtimeMs: number;
}

export const DEFAULT_SIM_TIMINGS: SimTimings = {
  callMs: 20,
  prepareMs: 30,
  migrationSetupMs: 150,
  bandwidthMiBps: 1000,
  downtimeMs: 60,
};

export class SimFleet {
  private readonly domains = new Map<string, Map<string, SimDomain>>();
  private readonly hostTime = new Map<string, number>();

  constructor(readonly timings: SimTimings = DEFAULT_SIM_TIMINGS) {}

  addHost(host: string): void {
    if (!this.domains.has(host)) this.domains.set(host, new Map());
  }

  get hosts(): string[] {
    return [...this.domains.keys()];
  }

  private on(host: string): Map<string, SimDomain> {
    const domains = this.domains.get(host);
    if (!domains) throw new Error(`sim: no host ${host}`);
    return domains;
  }

  define(host: string, domain: SimDomain): void {
    this.on(host).set(domain.uuid, domain);
  }

  find(host: string, uuid: string): SimDomain | undefined {
    return this.on(host).get(uuid);
  }

  undefine(host: string, uuid: string): void {
    this.on(host).delete(uuid);
  }

  /** Moves the domain from one host to the other, as a completed migration does. */
  move(uuid: string, from: string, to: string): void {
    const domain = this.find(from, uuid);
    if (!domain) throw new Error(`sim: ${uuid} is not on ${from}`);
    this.undefine(from, uuid);
    this.define(to, { ...domain, state: 'running' });
  }

  /** Where the fleet has the domain now. */
  hostsOf(uuid: string): string[] {
    return this.hosts.filter((host) => this.on(host).has(uuid));
  }

  /** Spends `ms` of simulated hypervisor time on the instance. */
  async work(instanceUuid: string, ms: number): Promise<void> {
    this.hostTime.set(instanceUuid, (this.hostTime.get(instanceUuid) ?? 0) + ms);
    await new Promise((resolve) => setTimeout(resolve, ms));
  }

  /** The hypervisor time spent on the instance since the last call, which resets it. */
  takeHostTime(instanceUuid: string): number {
    const ms = this.hostTime.get(instanceUuid) ?? 0;
    this.hostTime.delete(instanceUuid);
    return ms;
  }
}
