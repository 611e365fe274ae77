/**
 * A simulated peer-to-peer live migration: set-up, then the guest's memory copied at the job's
 * bandwidth, then the downtime with the guest paused, then the switch-over that moves the domain
 * to the destination. Its stats are read off the clock, as libvirt's are off QEMU's counters.
 */
import {
  DOMAIN_STATE,
  JOB_TYPE,
  MIGRATE,
  VIR_ERR,
  type JobStats,
  type TypedParams,
} from '../libvirt/binding';
import { REASON, simError, type SimDomain } from './domains';
import type { SimFleet } from './fleet';

const MiB = 1024 * 1024;

/** virDomainJobOperation of an outgoing migration (libvirt's job stats `operation`). */
const OPERATION_MIGRATION_OUT = 5;

/** The stats in libvirt's shape, with `raw` keyed by libvirt's field names. */
function jobStats(type: number, fields: Omit<JobStats, 'type' | 'raw'>): JobStats {
  const raw: TypedParams = { operation: OPERATION_MIGRATION_OUT };
  const names: Record<string, string> = {
    timeElapsedMs: 'time_elapsed',
    dataTotal: 'data_total',
    dataProcessed: 'data_processed',
    dataRemaining: 'data_remaining',
    memTotal: 'memory_total',
    memProcessed: 'memory_processed',
    memRemaining: 'memory_remaining',
    memBps: 'memory_bps',
    memDirtyRate: 'memory_dirty_rate',
    memIteration: 'memory_iteration',
    downtimeMs: 'downtime',
  };
  for (const [field, value] of Object.entries(fields)) {
    if (typeof value === 'number' && names[field]) raw[names[field]] = value;
  }
  return { type, ...fields, raw };
}

export class MigrationJob {
  private readonly startedAt = Date.now();
  private readonly totalBytes: number;
  private readonly bytesPerMs: number;
  private timer: NodeJS.Timeout;
  private switching = false;
  private postCopy = false;
  private settle!: { resolve: () => void; reject: (error: Error) => void };
  /** Settles when the job ends: completed, or rejected when aborted. */
  readonly done: Promise<void>;

  constructor(
    private readonly fleet: SimFleet,
    private readonly source: string,
    private readonly dest: string,
    private readonly domain: SimDomain,
    readonly flags: number,
    bandwidthMiBs: number | undefined,
  ) {
    const { timings } = fleet;
    const mibPerS = Math.min(bandwidthMiBs ?? Infinity, timings.bandwidthMiBps);
    this.totalBytes = domain.memoryMiB * MiB;
    this.bytesPerMs = (mibPerS * MiB) / 1000;
    this.done = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    const copiedAt = timings.migrationSetupMs + this.totalBytes / this.bytesPerMs;
    this.timer = setTimeout(() => this.pauseForDowntime(), copiedAt);
  }

  private elapsedMs(): number {
    return Date.now() - this.startedAt;
  }

  private processedBytes(): number {
    const copying = this.elapsedMs() - this.fleet.timings.migrationSetupMs;
    if (copying <= 0) return 0;
    return Math.min(this.totalBytes, Math.floor(copying * this.bytesPerMs));
  }

  /** The running job's stats; no data total during set-up, as libvirt reports it. */
  stats(): JobStats {
    const timeElapsedMs = this.elapsedMs();
    if (timeElapsedMs < this.fleet.timings.migrationSetupMs) {
      return jobStats(JOB_TYPE.UNBOUNDED, { timeElapsedMs, dataTotal: 0 });
    }
    const processed = this.processedBytes();
    return jobStats(JOB_TYPE.UNBOUNDED, {
      timeElapsedMs,
      dataTotal: this.totalBytes,
      dataProcessed: processed,
      dataRemaining: this.totalBytes - processed,
      memTotal: this.totalBytes,
      memProcessed: processed,
      memRemaining: this.totalBytes - processed,
      memBps: Math.round(this.bytesPerMs * 1000),
      memDirtyRate: 0,
      memIteration: 1,
    });
  }

  startPostCopy(): void {
    if (!(this.flags & MIGRATE.POSTCOPY)) {
      throw simError(
        VIR_ERR.OPERATION_INVALID,
        'Requested operation is not valid: switching to post-copy requires migration to be ' +
          'started with VIR_MIGRATE_POSTCOPY flag',
      );
    }
    this.postCopy = true;
    this.domain.state = DOMAIN_STATE.PAUSED;
    this.domain.reason = REASON.PAUSED_POSTCOPY;
  }

  /** Ends the job with the guest running on the source, as libvirt's abortJob does. */
  abort(cause: string): void {
    if (this.switching || this.postCopy) {
      throw simError(
        VIR_ERR.OPERATION_INVALID,
        'Requested operation is not valid: cannot abort migration in post-copy mode or during ' +
          'the switch-over',
      );
    }
    clearTimeout(this.timer);
    if (this.domain.state === DOMAIN_STATE.PAUSED && this.domain.reason !== REASON.PAUSED_USER) {
      this.domain.state = DOMAIN_STATE.RUNNING;
      this.domain.reason = REASON.RUNNING_UNPAUSED;
    }
    this.end();
    this.settle.reject(simError(VIR_ERR.OPERATION_ABORTED, `operation aborted: ${cause}`));
  }

  private end(): void {
    this.domain.job = null;
    this.fleet.charge(this.domain.uuid, this.elapsedMs());
  }

  private pauseForDowntime(): void {
    if (this.domain.state === DOMAIN_STATE.RUNNING) {
      this.domain.state = DOMAIN_STATE.PAUSED;
      this.domain.reason = REASON.PAUSED_MIGRATION;
    }
    this.switching = true;
    this.timer = setTimeout(() => this.switchOver(), this.fleet.timings.downtimeMs);
  }

  /** The guest runs on the destination; the source's domain goes (UNDEFINE_SOURCE) or is off. */
  private switchOver(): void {
    const timeElapsedMs = this.elapsedMs();
    const completed = jobStats(JOB_TYPE.COMPLETED, {
      timeElapsedMs,
      dataTotal: this.totalBytes,
      dataProcessed: this.totalBytes,
      dataRemaining: 0,
      memTotal: this.totalBytes,
      memProcessed: this.totalBytes,
      memRemaining: 0,
      memBps: Math.round(this.bytesPerMs * 1000),
      memIteration: 1,
      downtimeMs: this.fleet.timings.downtimeMs,
    });
    this.fleet.on(this.dest).set(this.domain.uuid, {
      ...this.domain,
      state: DOMAIN_STATE.RUNNING,
      reason: REASON.RUNNING_MIGRATED,
      persistent: (this.flags & MIGRATE.PERSIST_DEST) !== 0,
      job: null,
      completedJob: completed,
    });
    this.end();
    if ((this.flags & MIGRATE.UNDEFINE_SOURCE) !== 0 || !this.domain.persistent) {
      this.fleet.on(this.source).delete(this.domain.uuid);
    } else {
      this.domain.state = DOMAIN_STATE.SHUTOFF;
      this.domain.reason = REASON.SHUTOFF_MIGRATED;
    }
    this.settle.resolve();
  }
}
