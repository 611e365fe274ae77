/**
 * A connection to one sim host and its domain handles, answering as libvirt does: every call takes
 * the sim's call latency, a handle whose domain has gone rejects with NO_DOMAIN, and a call the
 * domain's state does not allow rejects with OPERATION_INVALID.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { HypervisorConnection, HypervisorDomain } from '../driver';
import { childElement, domainElement, parseXml, textOf, type Element } from '../libvirt/domain-xml';
import {
  ABORT_JOB,
  CPU_COMPARE,
  DOMAIN_STATE,
  JOB_STATS,
  JOB_TYPE,
  MIGRATE,
  VIR_ERR,
  type DomainInfo,
  type DomainState,
  type JobStats,
  type MigrateParams,
  type NodeInfo,
} from '../libvirt/binding';
import { REASON, newDomain, simError, type SimDomain } from './domains';
import type { SimFleet } from './fleet';
import { MigrationJob } from './migration-job';

const NO_JOB: JobStats = { type: JOB_TYPE.NONE, raw: {} };

/** What every sim host reports of itself: a large x86_64 QEMU/KVM host. */
const NODE: NodeInfo = {
  model: 'x86_64',
  memory: 256 * 1024 * 1024,
  cpus: 64,
  mhz: 2400,
  nodes: 1,
  sockets: 1,
  cores: 64,
  threads: 1,
};
const HYPERVISOR_VERSION = 8_002_000;
const CAPABILITIES =
  '<capabilities><host><cpu><arch>x86_64</arch><model>sim</model></cpu></host></capabilities>';

function invalid(what: string): Error {
  return simError(VIR_ERR.OPERATION_INVALID, `Requested operation is not valid: ${what}`);
}

function isActiveState(state: number): boolean {
  return state !== DOMAIN_STATE.SHUTOFF && state !== DOMAIN_STATE.CRASHED;
}

/** The text of the `<domain>` element's child `<tag>`, null when absent. */
function element(domain: Element, tag: string): string | null {
  return textOf(childElement(domain, tag));
}

class SimDomainHandle implements HypervisorDomain {
  constructor(
    private readonly conn: SimConnection,
    private readonly name: string,
    private readonly uuid: string,
  ) {}

  /** The domain now, after the call's latency; NO_DOMAIN once it has gone. */
  private async current(): Promise<SimDomain> {
    await this.conn.call();
    const domain = this.conn.fleet.find(this.conn.host, this.uuid);
    if (!domain) {
      throw simError(
        VIR_ERR.NO_DOMAIN,
        `Domain not found: no domain with matching uuid '${this.uuid}'`,
      );
    }
    return domain;
  }

  private async active(): Promise<SimDomain> {
    const domain = await this.current();
    if (!isActiveState(domain.state)) throw invalid('domain is not running');
    return domain;
  }

  async close(): Promise<void> {}
  getName = () => this.name;
  getUUIDString = () => this.uuid;

  async create(): Promise<void> {
    const domain = await this.current();
    if (isActiveState(domain.state)) throw invalid('domain is already running');
    const holder = this.conn.fleet.runningElsewhere(this.conn.host, domain.uuid);
    if (holder !== undefined) {
      // QEMU's image lock: the same instance's disks, opened by its guest on another host.
      throw simError(
        VIR_ERR.INTERNAL_ERROR,
        `internal error: process exited while connecting to monitor: Failed to get "write" lock (held by the guest on ${holder}). Is another process using the image?`,
      );
    }
    domain.state = DOMAIN_STATE.RUNNING;
    domain.reason = REASON.RUNNING_BOOTED;
  }

  /** The sim guest honours the power button at once. */
  async shutdown(): Promise<void> {
    const domain = await this.active();
    this.powerOff(domain, REASON.SHUTOFF_SHUTDOWN);
  }

  async destroy(): Promise<void> {
    const domain = await this.active();
    domain.job?.abort('domain destroyed');
    this.powerOff(domain, REASON.SHUTOFF_DESTROYED);
  }

  private powerOff(domain: SimDomain, reason: number): void {
    if (!domain.persistent) {
      this.conn.fleet.on(this.conn.host).delete(domain.uuid);
      return;
    }
    domain.state = DOMAIN_STATE.SHUTOFF;
    domain.reason = reason;
  }

  async undefine(): Promise<void> {
    const domain = await this.current();
    if (!domain.persistent) throw invalid('cannot undefine transient domain');
    if (isActiveState(domain.state)) domain.persistent = false;
    else this.conn.fleet.on(this.conn.host).delete(domain.uuid);
  }

  async suspend(): Promise<void> {
    const domain = await this.active();
    if (domain.state === DOMAIN_STATE.PAUSED) return;
    domain.state = DOMAIN_STATE.PAUSED;
    domain.reason = REASON.PAUSED_USER;
  }

  async resume(): Promise<void> {
    const domain = await this.active();
    if (domain.state !== DOMAIN_STATE.PAUSED) throw invalid('domain is not paused');
    domain.state = DOMAIN_STATE.RUNNING;
    domain.reason = REASON.RUNNING_UNPAUSED;
  }

  async getXMLDesc(): Promise<string> {
    return (await this.current()).xml;
  }

  async getInfo(): Promise<DomainInfo> {
    const domain = await this.current();
    const kib = domain.memoryMiB * 1024;
    return {
      state: domain.state,
      maxMem: kib,
      memory: kib,
      nrVirtCpu: domain.vcpus,
      cpuTime: 0,
    };
  }

  async getState(): Promise<DomainState> {
    const { state, reason } = await this.current();
    return { state, reason };
  }

  async isActive(): Promise<boolean> {
    return isActiveState((await this.current()).state);
  }

  async isPersistent(): Promise<boolean> {
    return (await this.current()).persistent;
  }

  async migrateToURI3(
    dconnuri: string | null,
    params: MigrateParams,
    flags: number,
  ): Promise<void> {
    const domain = await this.active();
    const { fleet } = this.conn;
    if (dconnuri === null)
      throw simError(VIR_ERR.INVALID_ARG, 'the sim migrates peer to peer only');
    const dest = fleet.hostOf(dconnuri);
    // The sim's post-copy never fails (it has no network to break): there is none to resume.
    if (flags & MIGRATE.POSTCOPY_RESUME) {
      throw invalid('domain is not running a post-copy migration that failed');
    }
    if (domain.job) throw invalid('another migration job is already running for domain');
    if (fleet.find(dest, domain.uuid)) {
      throw simError(
        VIR_ERR.DOM_EXIST,
        `operation failed: domain '${domain.name}' already exists with uuid ${domain.uuid}`,
      );
    }
    const job = new MigrationJob(fleet, this.conn.host, dest, domain, flags, params.bandwidthMiBs);
    domain.job = job;
    return job.done;
  }

  /** JOB_STATS.COMPLETED: the incoming job that completed here; else the running job's. */
  async getJobStats(flags = 0): Promise<JobStats> {
    const domain = await this.active();
    if ((flags & JOB_STATS.COMPLETED) === 0) return domain.job?.stats() ?? NO_JOB;
    const completed = domain.completedJob ?? NO_JOB;
    if ((flags & JOB_STATS.KEEP_COMPLETED) === 0) domain.completedJob = null;
    return completed;
  }

  async abortJob(flags = 0): Promise<void> {
    const domain = await this.active();
    if (!domain.job) throw invalid('no job is active on the domain');
    if (flags & ABORT_JOB.POSTCOPY) {
      throw simError(VIR_ERR.OPERATION_UNSUPPORTED, 'the sim does not pause post-copy migrations');
    }
    domain.job.abort('migration out: canceled by client');
  }

  async migrateSetMaxDowntime(ms: number): Promise<void> {
    const domain = await this.active();
    domain.maxDowntimeMs = ms;
  }

  async migrateStartPostCopy(): Promise<void> {
    const domain = await this.active();
    if (!domain.job)
      throw invalid('post-copy can only be started while outgoing migration is in progress');
    domain.job.startPostCopy();
  }
}

export class SimConnection implements HypervisorConnection {
  private closed = false;
  private readonly stopsAtOpen: number;

  constructor(
    readonly fleet: SimFleet,
    readonly host: string,
  ) {
    this.stopsAtOpen = fleet.stopsOf(host);
  }

  /**
   * One call's latency. A closed connection refuses calls; so does one whose libvirtd has stopped
   * since it was opened, as libvirt's does once the daemon's end of the socket closed, even after
   * the daemon is back.
   */
  async call(): Promise<void> {
    if (this.closed) throw simError(VIR_ERR.INVALID_CONN, 'invalid connection pointer');
    if (this.fleet.stopsOf(this.host) !== this.stopsAtOpen) {
      throw simError(VIR_ERR.INTERNAL_ERROR, 'internal error: client socket is closed');
    }
    await sleep(this.fleet.timings.callMs);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  async getType(): Promise<string> {
    await this.call();
    return 'QEMU';
  }

  async getVersion(): Promise<number> {
    await this.call();
    return HYPERVISOR_VERSION;
  }

  async getCapabilities(): Promise<string> {
    await this.call();
    return CAPABILITIES;
  }

  async nodeGetInfo(): Promise<NodeInfo> {
    await this.call();
    return NODE;
  }

  async compareHypervisorCPU(): Promise<number> {
    await this.call();
    return CPU_COMPARE.IDENTICAL;
  }

  private handle(domain: SimDomain | undefined, key: string): HypervisorDomain {
    if (!domain) throw simError(VIR_ERR.NO_DOMAIN, `Domain not found: no domain matching '${key}'`);
    return new SimDomainHandle(this, domain.name, domain.uuid);
  }

  async lookupByName(name: string): Promise<HypervisorDomain> {
    await this.call();
    const domains = [...this.fleet.on(this.host).values()];
    return this.handle(
      domains.find((domain) => domain.name === name),
      name,
    );
  }

  async lookupByUUIDString(uuid: string): Promise<HypervisorDomain> {
    await this.call();
    return this.handle(this.fleet.find(this.host, uuid), uuid);
  }

  /** Defines a persistent domain from its XML, or redefines the one of that name and UUID. */
  async defineXML(xml: string): Promise<HypervisorDomain> {
    await this.call();
    const domain = domainElement(parseXml(xml));
    const name = element(domain, 'name');
    const uuid = element(domain, 'uuid');
    const memoryKiB = Number(element(domain, 'memory'));
    const vcpus = Number(element(domain, 'vcpu') ?? 1);
    if (!name || !uuid || !(memoryKiB > 0)) {
      throw simError(VIR_ERR.XML_ERROR, 'XML error: the sim needs name, uuid and memory (KiB)');
    }
    const domains = this.fleet.on(this.host);
    const clash = [...domains.values()].find((d) => d.name === name && d.uuid !== uuid);
    if (clash) {
      throw simError(
        VIR_ERR.OPERATION_FAILED,
        `operation failed: domain '${name}' already exists with uuid ${clash.uuid}`,
      );
    }
    const existing = domains.get(uuid);
    const guest = { uuid, name, memoryMiB: memoryKiB / 1024, vcpus };
    if (existing) Object.assign(existing, guest, { xml, persistent: true });
    else {
      domains.set(uuid, newDomain(guest, xml, DOMAIN_STATE.SHUTOFF, REASON.SHUTOFF_UNKNOWN));
    }
    return new SimDomainHandle(this, name, uuid);
  }
}
