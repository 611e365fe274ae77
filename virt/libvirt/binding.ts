/**
 * The typed front of ferry's libvirt addon (native/, see docs/libvirt-binding.md): the only module
 * that loads it. Every call but Domain's name/UUID/ID getters runs off the main thread and returns
 * a promise; failures reject with a LibvirtError.
 *
 * Connections are cheap: open one per caller. A migration holds its connection for its whole
 * duration, and calls made on that same connection meanwhile can hang, so monitoring (job stats)
 * and control (abort, downtime, post-copy) must use a connection of their own.
 *
 * Numbers: libvirt's unsigned long long values arrive as Numbers, exact below 2^53 (8 PiB, or 104
 * days of nanoseconds) and rounded above.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { HypervisorInfo } from '../../workflows/refresh-hosts-contract';
import { projectRoot } from '../../config/project-root';
import { childElement, parseXml, textOf } from './domain-xml';
import { LibvirtError, VIR_ERR, isLibvirtError } from './errors';

export { LibvirtError, VIR_ERR, VIR_FROM, isLibvirtError } from './errors';

// Constants, from the libvirt-9.0 headers; the integration test checks them against the values
// the addon was compiled with. Each group is the C prefix noted beside it plus the key.

/** virConnectOpenAuth flags (VIR_CONNECT_). */
export const CONNECT = { RO: 1 << 0 } as const;

/** listAllDomains flags (VIR_CONNECT_LIST_DOMAINS_). */
export const LIST_DOMAINS = {
  ACTIVE: 1 << 0,
  INACTIVE: 1 << 1,
  PERSISTENT: 1 << 2,
  TRANSIENT: 1 << 3,
} as const;

/** compareCPU / compareHypervisorCPU flags (VIR_CONNECT_COMPARE_CPU_). */
export const COMPARE_CPU = { FAIL_INCOMPATIBLE: 1 << 0 } as const;

/** compareCPU / compareHypervisorCPU results (VIR_CPU_COMPARE_). */
export const CPU_COMPARE = { ERROR: -1, INCOMPATIBLE: 0, IDENTICAL: 1, SUPERSET: 2 } as const;

/** Domain states, DomainInfo.state and DomainState.state (VIR_DOMAIN_). */
export const DOMAIN_STATE = {
  NOSTATE: 0,
  RUNNING: 1,
  BLOCKED: 2,
  PAUSED: 3,
  SHUTDOWN: 4,
  SHUTOFF: 5,
  CRASHED: 6,
  PMSUSPENDED: 7,
} as const;

/** getXMLDesc flags (VIR_DOMAIN_XML_). */
export const DOMAIN_XML = {
  SECURE: 1 << 0,
  INACTIVE: 1 << 1,
  UPDATE_CPU: 1 << 2,
  MIGRATABLE: 1 << 3,
} as const;

/** destroy flags (VIR_DOMAIN_DESTROY_). */
export const DESTROY = { GRACEFUL: 1 << 0 } as const;

/** undefine flags (VIR_DOMAIN_UNDEFINE_). */
export const UNDEFINE = {
  MANAGED_SAVE: 1 << 0,
  SNAPSHOTS_METADATA: 1 << 1,
  NVRAM: 1 << 2,
  CHECKPOINTS_METADATA: 1 << 4,
} as const;

/** migrateToURI3 flags (VIR_MIGRATE_). */
export const MIGRATE = {
  LIVE: 1 << 0,
  PEER2PEER: 1 << 1,
  TUNNELLED: 1 << 2,
  PERSIST_DEST: 1 << 3,
  UNDEFINE_SOURCE: 1 << 4,
  PAUSED: 1 << 5,
  NON_SHARED_DISK: 1 << 6,
  NON_SHARED_INC: 1 << 7,
  CHANGE_PROTECTION: 1 << 8,
  UNSAFE: 1 << 9,
  OFFLINE: 1 << 10,
  COMPRESSED: 1 << 11,
  ABORT_ON_ERROR: 1 << 12,
  AUTO_CONVERGE: 1 << 13,
  POSTCOPY: 1 << 15,
  TLS: 1 << 16,
  PARALLEL: 1 << 17,
  POSTCOPY_RESUME: 1 << 19,
} as const;

/** abortJob flags (VIR_DOMAIN_ABORT_JOB_). */
export const ABORT_JOB = { POSTCOPY: 1 << 0 } as const;

/** migrateSetMaxSpeed / migrateGetMaxSpeed flags (VIR_DOMAIN_MIGRATE_MAX_SPEED_). */
export const MIGRATE_MAX_SPEED = { POSTCOPY: 1 << 0 } as const;

/** JobStats.type and JobInfo.type (VIR_DOMAIN_JOB_). */
export const JOB_TYPE = {
  NONE: 0,
  BOUNDED: 1,
  UNBOUNDED: 2,
  COMPLETED: 3,
  FAILED: 4,
  CANCELLED: 5,
} as const;

/** getJobStats flags (VIR_DOMAIN_JOB_STATS_). */
export const JOB_STATS = { COMPLETED: 1 << 0, KEEP_COMPLETED: 1 << 1 } as const;

export interface NodeInfo {
  /** CPU model as virNodeInfo has it: the architecture name (e.g. x86_64) on QEMU hosts. */
  model: string;
  /** KiB. */
  memory: number;
  cpus: number;
  mhz: number;
  nodes: number;
  sockets: number;
  cores: number;
  threads: number;
}

export interface DomainInfo {
  /** A DOMAIN_STATE value. */
  state: number;
  /** KiB. */
  maxMem: number;
  /** KiB. */
  memory: number;
  nrVirtCpu: number;
  /** Nanoseconds. */
  cpuTime: number;
}

export interface DomainState {
  /** A DOMAIN_STATE value. */
  state: number;
  /** The virDomain<State>Reason value matching `state`. */
  reason: number;
}

export interface DomainSummary {
  name: string;
  uuid: string;
  /** Whether the domain was running when listed. */
  active: boolean;
  /** Null for an inactive domain. */
  id: number | null;
}

/** Hypervisor selection for compareHypervisorCPU; omitted fields take the host's defaults. */
export interface HypervisorCpuOptions {
  emulator?: string;
  arch?: string;
  machine?: string;
  virttype?: string;
}

/** migrateToURI3's typed parameters (VIR_MIGRATE_PARAM_*); unknown keys throw a TypeError. */
export interface MigrateParams {
  /** VIR_MIGRATE_PARAM_URI: where the migration stream goes, e.g. tcp://10.0.0.2. */
  migrateUri?: string;
  /** VIR_MIGRATE_PARAM_DEST_NAME. */
  destinationName?: string;
  /** VIR_MIGRATE_PARAM_DEST_XML: the live definition on the destination. */
  destinationXml?: string;
  /** VIR_MIGRATE_PARAM_PERSIST_XML: the persistent definition on the destination. */
  persistentXml?: string;
  /** VIR_MIGRATE_PARAM_BANDWIDTH, MiB/s. */
  bandwidthMiBs?: number;
  /** VIR_MIGRATE_PARAM_BANDWIDTH_POSTCOPY, MiB/s. */
  bandwidthPostcopyMiBs?: number;
  /** VIR_MIGRATE_PARAM_MIGRATE_DISKS: target names (vda, ...) of the disks to copy. */
  migrateDisks?: string[];
  /** VIR_MIGRATE_PARAM_AUTO_CONVERGE_INITIAL, percent. */
  autoConvergeInitial?: number;
  /** VIR_MIGRATE_PARAM_AUTO_CONVERGE_INCREMENT, percent. */
  autoConvergeIncrement?: number;
  /** VIR_MIGRATE_PARAM_PARALLEL_CONNECTIONS. */
  parallelConnections?: number;
}

/** Typed parameters as the addon returns them, keyed by libvirt's field names. */
export type TypedParams = Record<string, number | boolean | string>;

/** virDomainGetJobStats, with the fields ferry reads named; undefined when libvirt omits one. */
export interface JobStats {
  /** A JOB_TYPE value. */
  type: number;
  timeElapsedMs?: number;
  timeRemainingMs?: number;
  /** Bytes, memory plus disks. */
  dataTotal?: number;
  dataProcessed?: number;
  dataRemaining?: number;
  /** Bytes. */
  memTotal?: number;
  memProcessed?: number;
  memRemaining?: number;
  /** Bytes/s. */
  memBps?: number;
  /** Pages/s. */
  memDirtyRate?: number;
  /** Number of memory passes so far. */
  memIteration?: number;
  /** Bytes. */
  diskTotal?: number;
  diskProcessed?: number;
  diskRemaining?: number;
  /** Actual downtime, in a completed job's stats. */
  downtimeMs?: number;
  /** Percent the guest CPUs are throttled by auto-convergence. */
  autoConvergeThrottle?: number;
  /** Why a failed job failed (VIR_DOMAIN_JOB_ERRMSG). */
  errorMessage?: string;
  /** Every field libvirt returned (VIR_DOMAIN_JOB_* names). */
  raw: TypedParams;
}

/** virDomainGetJobInfo (the older, fixed-field job API): bytes and milliseconds. */
export interface JobInfo {
  type: number;
  timeElapsed: number;
  timeRemaining: number;
  dataTotal: number;
  dataProcessed: number;
  dataRemaining: number;
  memTotal: number;
  memProcessed: number;
  memRemaining: number;
  fileTotal: number;
  fileProcessed: number;
  fileRemaining: number;
}

export interface Connection {
  readonly uri: string;
  /** Idempotent. Closes the domains obtained from it too; calls already running finish. */
  close(): Promise<void>;
  getType(): Promise<string>;
  /** major * 1,000,000 + minor * 1,000 + release. */
  getVersion(): Promise<number>;
  getLibVersion(): Promise<number>;
  getHostname(): Promise<string>;
  getCapabilities(): Promise<string>;
  getSysinfo(): Promise<string>;
  nodeGetInfo(): Promise<NodeInfo>;
  /** A CPU_COMPARE value. */
  compareCPU(xml: string, flags?: number): Promise<number>;
  /** A CPU_COMPARE value. */
  compareHypervisorCPU(
    xml: string,
    options?: HypervisorCpuOptions,
    flags?: number,
  ): Promise<number>;
  listAllDomains(flags?: number): Promise<DomainSummary[]>;
  lookupByName(name: string): Promise<Domain>;
  lookupByUUIDString(uuid: string): Promise<Domain>;
  defineXML(xml: string): Promise<Domain>;
}

export interface Domain {
  /** Idempotent. */
  close(): Promise<void>;
  /** The name, UUID and ID getters are synchronous: libvirt cached them at lookup. */
  getName(): string;
  getUUIDString(): string;
  /** Null when the domain was inactive at lookup. */
  getID(): number | null;
  create(flags?: number): Promise<void>;
  shutdown(flags?: number): Promise<void>;
  destroy(flags?: number): Promise<void>;
  undefine(flags?: number): Promise<void>;
  suspend(): Promise<void>;
  resume(): Promise<void>;
  getXMLDesc(flags?: number): Promise<string>;
  getInfo(): Promise<DomainInfo>;
  getState(): Promise<DomainState>;
  isActive(): Promise<boolean>;
  isPersistent(): Promise<boolean>;
  /**
   * Resolves when the migration is over. Runs on a native thread of its own, so it holds none of
   * libuv's pool; `dconnuri` may be null without MIGRATE.PEER2PEER.
   */
  migrateToURI3(dconnuri: string | null, params: MigrateParams, flags: number): Promise<void>;
  /** flags: JOB_STATS.COMPLETED for the stats of the job that just ended. */
  getJobStats(flags?: number): Promise<JobStats>;
  getJobInfo(): Promise<JobInfo>;
  /** flags: ABORT_JOB.POSTCOPY pauses a post-copy migration (it can be resumed) instead. */
  abortJob(flags?: number): Promise<void>;
  migrateSetMaxDowntime(ms: number): Promise<void>;
  /** Milliseconds. */
  migrateGetMaxDowntime(): Promise<number>;
  migrateStartPostCopy(): Promise<void>;
  /** flags: MIGRATE_MAX_SPEED.POSTCOPY for the post-copy phase's limit. */
  migrateSetMaxSpeed(mibPerSecond: number, flags?: number): Promise<void>;
  /** MiB/s. */
  migrateGetMaxSpeed(flags?: number): Promise<number>;
}

interface NativeConnection extends Omit<
  Connection,
  'uri' | 'lookupByName' | 'lookupByUUIDString' | 'defineXML'
> {
  lookupByName(name: string): Promise<NativeDomain>;
  lookupByUUIDString(uuid: string): Promise<NativeDomain>;
  defineXML(xml: string): Promise<NativeDomain>;
}

interface NativeDomain extends Omit<Domain, 'getJobStats'> {
  getJobStats(flags?: number): Promise<{ type: number; params: TypedParams }>;
}

interface NativeBinding {
  open(uri: string, flags: number): Promise<NativeConnection>;
  setErrorClass(cls: typeof LibvirtError): void;
  constants: Record<string, number>;
}

/** Where the built addon is (scripts/bootstrap builds it). */
export function addonPath(): string {
  return join(projectRoot(), 'native', 'build', 'Release', 'ferry_libvirt.node');
}

let loaded: NativeBinding | undefined;

function binding(): NativeBinding {
  if (!loaded) {
    const file = addonPath();
    if (!existsSync(file)) {
      throw new Error(
        `ferry: the libvirt addon is not built (${file} is missing): run scripts/bootstrap`,
      );
    }
    const native = createRequire(__filename)(file) as NativeBinding;
    native.setErrorClass(LibvirtError);
    loaded = native;
  }
  return loaded;
}

/** The constants the addon was compiled with, keyed by their C names. */
export function nativeConstants(): Readonly<Record<string, number>> {
  return binding().constants;
}

function numberField(raw: TypedParams, field: string): number | undefined {
  const value = raw[field];
  return typeof value === 'number' ? value : undefined;
}

function toJobStats({ type, params: raw }: { type: number; params: TypedParams }): JobStats {
  const errorMessage = raw.errmsg;
  return {
    type,
    timeElapsedMs: numberField(raw, 'time_elapsed'),
    timeRemainingMs: numberField(raw, 'time_remaining'),
    dataTotal: numberField(raw, 'data_total'),
    dataProcessed: numberField(raw, 'data_processed'),
    dataRemaining: numberField(raw, 'data_remaining'),
    memTotal: numberField(raw, 'memory_total'),
    memProcessed: numberField(raw, 'memory_processed'),
    memRemaining: numberField(raw, 'memory_remaining'),
    memBps: numberField(raw, 'memory_bps'),
    memDirtyRate: numberField(raw, 'memory_dirty_rate'),
    memIteration: numberField(raw, 'memory_iteration'),
    diskTotal: numberField(raw, 'disk_total'),
    diskProcessed: numberField(raw, 'disk_processed'),
    diskRemaining: numberField(raw, 'disk_remaining'),
    downtimeMs: numberField(raw, 'downtime'),
    autoConvergeThrottle: numberField(raw, 'auto_converge_throttle'),
    errorMessage: typeof errorMessage === 'string' ? errorMessage : undefined,
    raw,
  };
}

class LibvirtDomain implements Domain {
  constructor(private readonly native: NativeDomain) {}

  close = () => this.native.close();
  getName = () => this.native.getName();
  getUUIDString = () => this.native.getUUIDString();
  getID = () => this.native.getID();
  create = (flags = 0) => this.native.create(flags);
  shutdown = (flags = 0) => this.native.shutdown(flags);
  destroy = (flags = 0) => this.native.destroy(flags);
  undefine = (flags = 0) => this.native.undefine(flags);
  suspend = () => this.native.suspend();
  resume = () => this.native.resume();
  getXMLDesc = (flags = 0) => this.native.getXMLDesc(flags);
  getInfo = () => this.native.getInfo();
  getState = () => this.native.getState();
  isActive = () => this.native.isActive();
  isPersistent = () => this.native.isPersistent();
  migrateToURI3 = (dconnuri: string | null, params: MigrateParams, flags: number) =>
    this.native.migrateToURI3(dconnuri, params, flags);
  getJobStats = async (flags = 0) => toJobStats(await this.native.getJobStats(flags));
  getJobInfo = () => this.native.getJobInfo();
  abortJob = (flags?: number) => this.native.abortJob(flags);
  migrateSetMaxDowntime = (ms: number) => this.native.migrateSetMaxDowntime(ms);
  migrateGetMaxDowntime = () => this.native.migrateGetMaxDowntime();
  migrateStartPostCopy = () => this.native.migrateStartPostCopy();
  migrateSetMaxSpeed = (mibPerSecond: number, flags = 0) =>
    this.native.migrateSetMaxSpeed(mibPerSecond, flags);
  migrateGetMaxSpeed = (flags = 0) => this.native.migrateGetMaxSpeed(flags);
}

/**
 * Wraps a domain lookup by `key` (a name or UUID). Some drivers (the test driver among them) say
 * only "Domain not found": the message then gets `subject` appended, code and domain unchanged.
 */
async function domainFrom(
  pending: Promise<NativeDomain>,
  key: string,
  subject: string,
): Promise<Domain> {
  try {
    return new LibvirtDomain(await pending);
  } catch (error) {
    if (isLibvirtError(error, VIR_ERR.NO_DOMAIN) && !error.message.includes(key)) {
      throw new LibvirtError(`${error.message}: ${subject}`, error.code, error.domain);
    }
    throw error;
  }
}

class LibvirtConnection implements Connection {
  constructor(
    readonly uri: string,
    private readonly native: NativeConnection,
  ) {}

  close = () => this.native.close();
  getType = () => this.native.getType();
  getVersion = () => this.native.getVersion();
  getLibVersion = () => this.native.getLibVersion();
  getHostname = () => this.native.getHostname();
  getCapabilities = () => this.native.getCapabilities();
  getSysinfo = () => this.native.getSysinfo();
  nodeGetInfo = () => this.native.nodeGetInfo();
  compareCPU = (xml: string, flags = 0) => this.native.compareCPU(xml, flags);
  compareHypervisorCPU = (xml: string, options: HypervisorCpuOptions = {}, flags = 0) =>
    this.native.compareHypervisorCPU(xml, options, flags);
  listAllDomains = (flags = 0) => this.native.listAllDomains(flags);
  lookupByName = (name: string) =>
    domainFrom(this.native.lookupByName(name), name, `no domain named '${name}'`);
  lookupByUUIDString = (uuid: string) =>
    domainFrom(this.native.lookupByUUIDString(uuid), uuid, `no domain with UUID '${uuid}'`);
  defineXML = async (xml: string): Promise<Domain> =>
    new LibvirtDomain(await this.native.defineXML(xml));
}

/** Opens a connection of its own for the caller (e.g. qemu+ssh://host/system, test:///default). */
export async function openConnection(
  uri: string,
  options: { readOnly?: boolean } = {},
): Promise<Connection> {
  const native = await binding().open(uri, options.readOnly ? CONNECT.RO : 0);
  return new LibvirtConnection(uri, native);
}

/** Runs `fn` on a fresh connection and closes it afterwards, whatever `fn` did. */
export async function withConnection<T>(
  uri: string,
  fn: (conn: Connection) => Promise<T>,
): Promise<T> {
  const conn = await openConnection(uri);
  let result: T;
  try {
    result = await fn(conn);
  } catch (error) {
    await conn.close().catch(() => undefined);
    throw error;
  }
  await conn.close();
  return result;
}

/** The host CPU's architecture and model from capabilities XML (host/cpu), null when absent. */
export function parseHostCpu(capabilities: string): { arch: string | null; model: string | null } {
  const cpu = childElement(childElement(parseXml(capabilities).documentElement, 'host'), 'cpu');
  return { arch: textOf(childElement(cpu, 'arch')), model: textOf(childElement(cpu, 'model')) };
}

/**
 * What the hypervisor behind `conn` reports about itself. Where capabilities name no host CPU
 * model (the test driver, some non-x86 hosts), cpuModel is virNodeInfo's model, as is arch where
 * they name no architecture.
 */
export async function hypervisorInfo(
  conn: Pick<Connection, 'getCapabilities' | 'getType' | 'getVersion' | 'nodeGetInfo'>,
): Promise<HypervisorInfo> {
  const [capabilities, hypervisorType, hypervisorVersion, node] = await Promise.all([
    conn.getCapabilities(),
    conn.getType(),
    conn.getVersion(),
    conn.nodeGetInfo(),
  ]);
  const cpu = parseHostCpu(capabilities);
  return {
    arch: cpu.arch ?? node.model,
    hypervisorType,
    hypervisorVersion,
    cpuModel: cpu.model ?? node.model,
    vcpus: node.cpus,
    memoryMiB: Math.floor(node.memory / 1024),
  };
}
