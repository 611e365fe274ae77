/**
 * The liveMigrate activity, on the source host: starts the peer-to-peer migration, or attaches to
 * one already under way (a retried attempt, after the agent died), or recognises one that already
 * completed; never starts a second. The monitor (monitor.ts) watches it to its end.
 */
import { Context, log } from '@temporalio/activity';
import type {
  MigrationProgress,
  MigrationResult,
  LiveMigrationHostActivities,
} from '../../../workflows/live-migration-contract';
import type { HostAgentContext } from '../index';
import {
  DOMAIN_XML,
  JOB_STATS,
  JOB_TYPE,
  MIGRATE,
  type JobStats,
  type MigrateParams,
} from '../../../virt/libvirt/binding';
import type {
  Hypervisor,
  HypervisorConnection as Connection,
  HypervisorDomain as Domain,
} from '../../../virt/driver';
import {
  currentJob,
  findDomain,
  isActive,
  migrationJobActive,
  presenceOf,
} from '../../../virt/libvirt/domain-lookup';
import { migrationFailure } from './failures';
import { monitorMigration, type MonitorOutcome } from './monitor';
import {
  migrationDataGiB,
  monitorPlan,
  progressFromStats,
  type MonitorPlan,
} from './monitor-policy';
import { postCopyFailed, recoverPostCopy } from './postcopy-recovery';
import { ProgressReporter } from './progress-reporter';
import type { LiveMigrationSettings } from './settings';

export type LiveMigrateRequest = Parameters<LiveMigrationHostActivities['liveMigrate']>[0];

type MigrateContext = Pick<
  HostAgentContext,
  'hostName' | 'hypervisor' | 'libvirtUri' | 'liveMigration' | 'reportProgress'
>;

const NO_PROGRESS: MigrationProgress = {
  memoryTotalBytes: 0,
  memoryProcessedBytes: 0,
  memoryRemainingBytes: 0,
  diskTotalBytes: 0,
  diskProcessedBytes: 0,
  diskRemainingBytes: 0,
  percent: 0,
  postCopy: false,
};

/** Block migration copies the disks listed; with none to copy it is a plain live migration. */
function copiesDisks(request: LiveMigrateRequest): boolean {
  return request.blockMigration && request.disks.length > 0;
}

/**
 * Disks that are not copied are on storage the storage probe proved shared: the workflow refuses
 * (InvalidLocalStorage) a migration without block migration otherwise. libvirt judges sharing by
 * filesystem type alone and calls disks on any other filesystem unsafe to leave in place, so ferry
 * answers for them with UNSAFE (docs/live-migration.md, "Shared storage").
 */
function sharesDisks(request: LiveMigrateRequest): boolean {
  return !request.blockMigration && request.disks.length > 0;
}

function migrationFlags(settings: LiveMigrationSettings, request: LiveMigrateRequest): number {
  let flags = MIGRATE.LIVE | MIGRATE.PEER2PEER | MIGRATE.PERSIST_DEST | MIGRATE.UNDEFINE_SOURCE;
  if (copiesDisks(request)) flags |= MIGRATE.NON_SHARED_DISK;
  if (sharesDisks(request)) flags |= MIGRATE.UNSAFE;
  if (settings.permitAutoConverge) flags |= MIGRATE.AUTO_CONVERGE;
  if (settings.permitPostCopy) flags |= MIGRATE.POSTCOPY;
  if (settings.withNativeTls) flags |= MIGRATE.TLS;
  return flags;
}

function migrationParams(settings: LiveMigrationSettings, request: LiveMigrateRequest) {
  const params: MigrateParams = {};
  if (settings.bandwidthMiBs > 0) params.bandwidthMiBs = settings.bandwidthMiBs;
  if (settings.postCopyBandwidthMiBs > 0) {
    params.bandwidthPostcopyMiBs = settings.postCopyBandwidthMiBs;
  }
  if (copiesDisks(request)) params.migrateDisks = request.disks.map((disk) => disk.target);
  return params;
}

/**
 * A connection to the destination opened as the job starts, for the read after it: its opening (a
 * TLS handshake in the lab) then overlaps the job instead of following it. Null when it could not
 * be opened; the read then opens its own. Whoever opened it closes it once the read is done.
 */
type EarlyConnection = Promise<Connection | null>;

function openEarly(hypervisor: Hypervisor, destUri: string): EarlyConnection {
  return hypervisor.openConnection(destUri).catch((error: unknown) => {
    log.info('could not open a connection to the destination yet', {
      error: errorMessage(error),
    });
    return null;
  });
}

/** Closes the early connection once it is open, without waiting for an open still under way. */
function closeEarly(early: EarlyConnection): void {
  void early.then((conn) => conn?.close()).catch(() => undefined);
}

/**
 * What the destination keeps of the completed migration, read on one connection to it: the job's
 * stats, which only the destination keeps (KEEP_COMPLETED leaves them there for a retried
 * attempt), null when it has no such domain or no such stats (libvirt 9.0 keeps none after a
 * post-copy migration); and the domain's persistent definition (libvirt leaves secrets out unless
 * asked), undefined when it cannot be read, which leaves the definition ferry recorded as it was.
 * Read on `early` when it is open by then; otherwise, or when that read fails (the connection
 * died during a long job), on a connection of its own.
 */
async function readDestination(
  hypervisor: Hypervisor,
  destUri: string,
  uuid: string,
  early: EarlyConnection = Promise.resolve(null),
): Promise<{ stats: JobStats | null; domainXml: string | undefined }> {
  const read = async (conn: Connection) => {
    const domain = await findDomain(conn, uuid);
    if (!domain) return { stats: null, domainXml: undefined };
    try {
      const [stats, domainXml] = await Promise.all([completedStats(domain), definition(domain)]);
      return { stats, domainXml };
    } finally {
      await domain.close();
    }
  };
  // Taken only if already open: an open still under way (a destination cut off as the job
  // started) is not waited for.
  const opened = await Promise.race([early, Promise.resolve(null)]);
  if (opened) {
    try {
      return await read(opened);
    } catch (error) {
      log.info('the early connection to the destination failed: reading on a new one', {
        error: errorMessage(error),
      });
    }
  }
  try {
    return await hypervisor.withConnection(destUri, read);
  } catch (error) {
    log.warn('could not read the completed job on the destination', { error: errorMessage(error) });
    return { stats: null, domainXml: undefined };
  }
}

async function completedStats(domain: Domain): Promise<JobStats | null> {
  try {
    const stats = await domain.getJobStats(JOB_STATS.COMPLETED | JOB_STATS.KEEP_COMPLETED);
    return stats.type === JOB_TYPE.COMPLETED ? stats : null;
  } catch (error) {
    log.warn('could not read the completed job stats on the destination', {
      error: errorMessage(error),
    });
    return null;
  }
}

async function definition(domain: Domain): Promise<string | undefined> {
  try {
    return await domain.getXMLDesc(DOMAIN_XML.INACTIVE);
  } catch (error) {
    log.warn('could not read the domain definition on the destination', {
      error: errorMessage(error),
    });
    return undefined;
  }
}

/** Whether the destination runs the instance (the migration's end, whoever started it). */
async function runningAtDestination(
  hypervisor: Hypervisor,
  destUri: string,
  uuid: string,
): Promise<boolean> {
  return hypervisor.withConnection(destUri, async (conn) => {
    const domain = await findDomain(conn, uuid);
    if (!domain) return false;
    try {
      return presenceOf((await domain.getState()).state) === 'running';
    } finally {
      await domain.close();
    }
  });
}

/** The result of a completed migration; without completed stats, the last counters seen. */
async function result(
  hypervisor: Hypervisor,
  request: LiveMigrateRequest,
  reporter: ProgressReporter,
  outcome: Pick<MonitorOutcome, 'progress' | 'forced'> & { attached: boolean },
  early?: EarlyConnection,
): Promise<MigrationResult> {
  const { stats, domainXml } = await readDestination(
    hypervisor,
    request.destLibvirtUri,
    request.instanceUuid,
    early,
  );
  const postCopy = outcome.forced === 'post-copy';
  const progress = stats
    ? progressFromStats(stats, postCopy)
    : { ...(outcome.progress ?? NO_PROGRESS), percent: 100, postCopy };
  await reporter.settled();
  return {
    attached: outcome.attached,
    elapsedMs: stats?.timeElapsedMs ?? null,
    downtimeMs: stats?.downtimeMs ?? null,
    progress,
    forced: outcome.forced,
    ...(domainXml === undefined ? {} : { domainXml }),
  };
}

/** What a job that was never monitored here (a failed post-copy found on attaching) shows. */
const NOT_MONITORED: MonitorOutcome = {
  call: null,
  aborted: null,
  progress: null,
  forced: null,
  postCopyPausedAt: null,
  postCopyRan: false,
};

function describe(request: LiveMigrateRequest, context: MigrateContext): string {
  return `live migration of instance ${request.instanceUuid} from ${context.hostName} to ${request.destHost}`;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The failure for a job the monitor aborted, or that failed by itself. */
function failureOf(
  request: LiveMigrateRequest,
  context: MigrateContext,
  plan: MonitorPlan,
  outcome: MonitorOutcome,
  cause: string,
): Error {
  const what = describe(request, context);
  switch (outcome.aborted) {
    case 'cancelled':
      return Context.current().cancellationSignal.reason as Error;
    case 'timeout':
      return migrationFailure(
        'MigrationTimeout',
        `${what} did not complete within its completion timeout of ` +
          `${(plan.completionTimeoutMs ?? 0) / 1000} s ` +
          `(${context.liveMigration.completionTimeoutPerGiB} s per GiB of data); aborted: ${cause}`,
      );
    case 'stalled':
      return migrationFailure(
        'MigrationStalled',
        `${what} made no progress for ${(plan.progressTimeoutMs ?? 0) / 1000} s ` +
          `(data remaining did not drop); aborted: ${cause}`,
      );
    default:
      return migrationFailure('MigrationError', `${what} failed: ${cause}`);
  }
}

/**
 * Starts the migration on a connection of its own and monitors it from `monitored`'s; with
 * `extraFlags` MIGRATE.POSTCOPY_RESUME, resumes a failed post-copy of it instead.
 */
async function startAndMonitor(
  context: MigrateContext,
  request: LiveMigrateRequest,
  monitored: Domain,
  monitor: Omit<Parameters<typeof monitorMigration>[0], 'domain' | 'migration'>,
  extraFlags = 0,
): Promise<MonitorOutcome> {
  const settings = context.liveMigration;
  const conn = await context.hypervisor.openConnection(context.libvirtUri);
  try {
    const domain = await conn.lookupByUUIDString(request.instanceUuid);
    const flags = migrationFlags(settings, request) | extraFlags;
    const params = migrationParams(settings, request);
    log.info('starting the live migration', { destHost: request.destHost, flags, params });
    const migration = domain.migrateToURI3(request.destLibvirtUri, params, flags);
    return await monitorMigration({ ...monitor, domain: monitored, migration });
  } finally {
    await conn.close();
  }
}

function reporterFor(context: MigrateContext, request: LiveMigrateRequest): ProgressReporter {
  return new ProgressReporter(
    (progress) => context.reportProgress(request.migrationUuid, progress),
    context.liveMigration.progressSaveIntervalMs,
  );
}

/**
 * After an attached job ended: it completed if the destination runs the instance and the source
 * no longer does (the source's domain may still be on its way out when the job ends).
 */
async function attachedJobCompleted(
  hypervisor: Hypervisor,
  source: Connection,
  request: LiveMigrateRequest,
): Promise<boolean> {
  const left = await findDomain(source, request.instanceUuid);
  try {
    if (left !== null && (await isActive(left))) return false;
  } finally {
    await left?.close();
  }
  return runningAtDestination(hypervisor, request.destLibvirtUri, request.instanceUuid);
}

async function migrateFrom(
  context: MigrateContext,
  request: LiveMigrateRequest,
  source: Connection,
  domain: Domain,
): Promise<MigrationResult> {
  const settings = context.liveMigration;
  const reporter = reporterFor(context, request);
  const [info, job] = await Promise.all([domain.getInfo(), currentJob(domain)]);
  const diskBytes = copiesDisks(request) ? request.disks.map((disk) => disk.virtualSizeBytes) : [];
  const monitor = {
    plan: monitorPlan(settings, migrationDataGiB(info.maxMem / 1024, diskBytes)),
    intervalMs: settings.monitorIntervalMs,
    permitPostCopy: settings.permitPostCopy,
    reporter,
  };
  const attached = migrationJobActive(job);
  if (attached) log.info('a migration job of the instance is running: attaching to it');
  const early = openEarly(context.hypervisor, request.destLibvirtUri);
  try {
    const waiting = attached && (await postCopyFailed(domain));
    let outcome = waiting
      ? { ...NOT_MONITORED, forced: 'post-copy' as const }
      : attached
        ? await monitorMigration({ ...monitor, domain, migration: null })
        : await startAndMonitor(context, request, domain, monitor);
    const cause = () =>
      outcome.call?.kind === 'rejected'
        ? errorMessage(outcome.call.error)
        : 'the job it attached to ended without the instance running on the destination';

    if (outcome.call?.kind !== 'returned' && (waiting || (await postCopyFailed(domain)))) {
      outcome = await recoverPostCopy({
        settings,
        what: describe(request, context),
        sourceHost: context.hostName,
        destHost: request.destHost,
        brokenAt: outcome.postCopyPausedAt ?? Date.now(),
        cause: waiting ? 'the post-copy it attached to had failed' : cause(),
        resume: () => startAndMonitor(context, request, domain, monitor, MIGRATE.POSTCOPY_RESUME),
      });
    }

    const completed =
      outcome.call === null
        ? await attachedJobCompleted(context.hypervisor, source, request)
        : outcome.call.kind === 'returned';
    if (completed) {
      return await result(context.hypervisor, request, reporter, { ...outcome, attached }, early);
    }
    await reporter.final(outcome.progress ?? NO_PROGRESS);
    throw failureOf(request, context, monitor.plan, outcome, cause());
  } finally {
    closeEarly(early);
  }
}

/**
 * A failure of the migration itself (libvirt's message) ends in a non-retryable MigrationError,
 * MigrationTimeout or MigrationStalled; a cancellation in its CancelledFailure. Anything else (the
 * source daemon not answering, say) is thrown as it is, to be retried: the retry attaches.
 */
export async function liveMigrate(
  context: MigrateContext,
  request: LiveMigrateRequest,
): Promise<MigrationResult> {
  return context.hypervisor.withConnection(context.libvirtUri, async (source) => {
    const domain = await findDomain(source, request.instanceUuid);
    try {
      if (domain && (await isActive(domain))) {
        return await migrateFrom(context, request, source, domain);
      }
    } finally {
      await domain?.close();
    }
    if (
      await runningAtDestination(context.hypervisor, request.destLibvirtUri, request.instanceUuid)
    ) {
      log.info('the instance already runs on the destination: the migration completed');
      const done = { progress: null, forced: null, attached: true };
      return await result(context.hypervisor, request, reporterFor(context, request), done);
    }
    throw migrationFailure(
      domain ? 'InstanceInvalidState' : 'InstanceNotFound',
      `instance ${request.instanceUuid} is ${domain ? 'not running' : 'not defined'} on ` +
        `${context.hostName}, and does not run on ${request.destHost}`,
    );
  });
}
