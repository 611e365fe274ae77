/**
 * The simulated hypervisors (docs/sim-driver.md): an in-memory fleet of hosts and their domains,
 * shared by every sim host agent of one process, and the Hypervisor driver that opens connections
 * to them by URI (`sim:///HOST`). Benchmarks and scale tests only, never a default.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Hypervisor, HypervisorConnection } from '../driver';
import { DOMAIN_STATE, VIR_ERR } from '../libvirt/binding';
import { SimConnection } from './connection';
import { REASON, guestXml, newDomain, simError, type SimDomain, type SimGuest } from './domains';

/** What the simulated hypervisor's steps take. */
export interface SimTimings {
  /** Opening a connection to libvirtd on its local socket. */
  connectMs: number;
  /** One API call on an open connection. */
  callMs: number;
  /** Setting up the peer-to-peer job before the first byte moves. */
  migrationSetupMs: number;
  /** Memory copied per second (a 10 GbE link with some loss to dirtying). */
  bandwidthMiBps: number;
  /** The final pause: stopped on the source, not yet running on the destination. */
  downtimeMs: number;
}

export const DEFAULT_SIM_TIMINGS: SimTimings = {
  connectMs: 5,
  callMs: 1,
  migrationSetupMs: 150,
  bandwidthMiBps: 1000,
  downtimeMs: 60,
};

const URI_PREFIX = 'sim:///';

export class SimFleet {
  private readonly domains = new Map<string, Map<string, SimDomain>>();
  private readonly hostTime = new Map<string, number>();
  private readonly stopped = new Set<string>();
  /** How many times each host's libvirtd has stopped: a connection opened before a stop is dead. */
  private readonly stops = new Map<string, number>();

  /** The driver the host activities use: connections to this fleet's hosts. */
  readonly hypervisor: Hypervisor;

  constructor(readonly timings: SimTimings = DEFAULT_SIM_TIMINGS) {
    const openConnection = (uri: string) => this.connect(uri);
    this.hypervisor = {
      openConnection,
      async withConnection(uri, fn) {
        const conn = await openConnection(uri);
        try {
          return await fn(conn);
        } finally {
          await conn.close();
        }
      },
    };
  }

  /** The libvirt URI of a sim host (its Host row's and its agent's). */
  static uri(host: string): string {
    return `${URI_PREFIX}${host}`;
  }

  addHost(host: string): void {
    if (!this.domains.has(host)) this.domains.set(host, new Map());
  }

  get hosts(): string[] {
    return [...this.domains.keys()];
  }

  /** The domains of a host, by UUID. */
  on(host: string): Map<string, SimDomain> {
    const domains = this.domains.get(host);
    if (!domains) throw new Error(`sim: no host ${host}`);
    return domains;
  }

  /** Puts a running, persistent guest on the host. */
  define(host: string, guest: SimGuest): void {
    const xml = guestXml(guest);
    this.on(host).set(
      guest.uuid,
      newDomain(guest, xml, DOMAIN_STATE.RUNNING, REASON.RUNNING_BOOTED),
    );
  }

  /** The instance's domain on the host, if it has one. */
  find(host: string, uuid: string): SimDomain | undefined {
    return this.on(host).get(uuid);
  }

  /**
   * Another host whose guest of the instance runs (its libvirtd answering or not): sim guests
   * have no disks, so one instance's guests stand for the disks they share.
   */
  runningElsewhere(host: string, uuid: string): string | undefined {
    return this.hosts.find((other) => {
      const state = this.domains.get(other)?.get(uuid)?.state;
      return other !== host && (state === DOMAIN_STATE.RUNNING || state === DOMAIN_STATE.PAUSED);
    });
  }

  /** The hosts that have a domain of the instance now. */
  hostsOf(uuid: string): string[] {
    return this.hosts.filter((host) => this.on(host).has(uuid));
  }

  /**
   * The host's libvirtd stops answering (the host died or was cut off): connections to it fail
   * until `startLibvirt`. Its domains stay as they were, as a powered-off host's definitions do.
   */
  stopLibvirt(host: string): void {
    this.on(host);
    this.stopped.add(host);
    this.stops.set(host, this.stopsOf(host) + 1);
  }

  /** How many times the host's libvirtd has stopped (SimConnection: whether its socket closed). */
  stopsOf(host: string): number {
    return this.stops.get(host) ?? 0;
  }

  /**
   * The host dies: its guests stop, its transient domains go, its persistent definitions stay
   * (as on its disk) for when it comes back, and its libvirtd answers no more until
   * `startLibvirt`.
   */
  crash(host: string): void {
    const domains = this.on(host);
    for (const [uuid, domain] of domains) {
      if (!domain.persistent) domains.delete(uuid);
      domain.job?.abort('host crashed');
      domain.state = DOMAIN_STATE.SHUTOFF;
      domain.reason = REASON.SHUTOFF_CRASHED;
    }
    this.stopLibvirt(host);
  }

  startLibvirt(host: string): void {
    this.stopped.delete(host);
  }

  /** The sim host a URI names; libvirt's connection error for any other, or one stopped. */
  hostOf(uri: string): string {
    const host = uri.startsWith(URI_PREFIX) ? uri.slice(URI_PREFIX.length) : '';
    if (!this.domains.has(host)) {
      throw simError(VIR_ERR.NO_CONNECT, `Failed to connect to the hypervisor: no sim host ${uri}`);
    }
    if (this.stopped.has(host)) {
      throw simError(
        VIR_ERR.NO_CONNECT,
        `Failed to connect socket to '${host}': Connection refused (sim libvirtd stopped)`,
      );
    }
    return host;
  }

  private async connect(uri: string): Promise<HypervisorConnection> {
    const host = this.hostOf(uri);
    await sleep(this.timings.connectMs);
    return new SimConnection(this, host);
  }

  /** Counts `ms` of hypervisor time (a migration job's) against the instance. */
  charge(instanceUuid: string, ms: number): void {
    this.hostTime.set(instanceUuid, (this.hostTime.get(instanceUuid) ?? 0) + ms);
  }

  /** The hypervisor time spent on the instance since the last call, which resets it. */
  takeHostTime(instanceUuid: string): number {
    const ms = this.hostTime.get(instanceUuid) ?? 0;
    this.hostTime.delete(instanceUuid);
    return ms;
  }
}
