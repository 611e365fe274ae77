import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { projectRoot } from './project-root';
import { hasMigrationTlsCertificates } from './migration-tls';

/** A role an API token carries: admins may migrate, members may resize, confirm and revert. */
export type ApiRole = 'admin' | 'member';

export interface ApiToken {
  token: string;
  role: ApiRole;
}

export type LiveMigrationTimeoutAction = 'abort' | 'force_complete';
export type LogFormat = 'auto' | 'json' | 'pretty';

export interface FerryConfig {
  dataDir: string;
  temporalAddress: string;
  temporalNamespace: string;
  temporalUiPort: number;
  /** PEM files for TLS to Temporal; none = plain gRPC. */
  temporalTlsCaFile: string | null;
  temporalTlsCertFile: string | null;
  temporalTlsKeyFile: string | null;
  temporalTlsServerName: string | null;
  databaseUrl: string;
  resizeConfirmWindowSeconds: number;
  allowResizeToSameHost: boolean;
  shutdownTimeoutSeconds: number;
  maxConcurrentLiveMigrations: number;
  /**
   * Migrations of any kind (live migrations preparing or running, resizes and cold migrations
   * migrating or post-migrating) at once in the whole fleet; the rest wait as `queued`. Read by the
   * control workers' slot activity, so their setting is the one that counts.
   */
  maxConcurrentMigrations: number;
  liveMigrationCompletionTimeoutPerGiB: number;
  liveMigrationTimeoutAction: LiveMigrationTimeoutAction;
  liveMigrationProgressTimeoutSeconds: number;
  liveMigrationMaxDowntimeMs: number;
  liveMigrationDowntimeSteps: number;
  liveMigrationDowntimeDelayPerGiB: number;
  liveMigrationBandwidthMiBs: number;
  liveMigrationPermitPostCopy: boolean;
  liveMigrationPostCopyBandwidthMiBs: number;
  liveMigrationPostCopyStallTimeoutSeconds: number;
  liveMigrationPostCopyResumeTimeoutSeconds: number;
  liveMigrationPermitAutoConverge: boolean;
  /** Encrypt migration streams (VIR_MIGRATE_TLS); default: whether the host has certificates. */
  liveMigrationWithNativeTls: boolean;
  schedulerMaxAttempts: number;
  /** Seconds between two heartbeats of every host's agent (Nova's report_interval). */
  reportIntervalSeconds: number;
  /** Seconds without a heartbeat after which a host is down (Nova's service_down_time). */
  serviceDownTimeSeconds: number;
  apiHost: string;
  apiPort: number;
  apiTokens: ApiToken[];
  metricsHost: string;
  /** The control worker's /metrics port; 0 = no endpoint. */
  metricsPort: number;
  /** Each host agent's /metrics port; 0 = no endpoint. */
  agentMetricsPort: number;
  logLevel: string;
  logFormat: LogFormat;
}

/** Raised for a configuration value ferry cannot use; the message names the variable. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Parse<T> = (raw: string, name: string) => T;

interface OptionSpec<K extends keyof FerryConfig> {
  key: K;
  env: string;
  /** The key in the optional JSON config file (Nova's option name where Nova has one). */
  file: string;
  default: (partial: Partial<FerryConfig>, env: NodeJS.ProcessEnv) => FerryConfig[K];
  parse: Parse<FerryConfig[K]>;
  describe: string;
  /** How the default reads in documentation. */
  shownDefault: string;
  /** Whose setting it is: which process's value applies (`ferry config` groups by it). */
  appliesTo: AppliesTo;
}

/**
 * Which process's value of a setting counts. Policy is the control plane's: a workflow reads it
 * from the control worker at its start, whoever started it (docs/host-agent.md, "Policy").
 */
export type AppliesTo =
  | 'every process'
  | 'control plane'
  | 'host agent'
  | 'requesting process'
  | 'database users'
  | 'API'
  | 'metrics endpoints'
  | 'ferry dev';

/** What each group means, as `ferry config` heads it. */
export const APPLIES_TO: Record<AppliesTo, string> = {
  'every process': 'every process',
  'control plane':
    "control plane (ferry control): policy of every operation, whoever starts it; the control worker's value applies",
  'host agent':
    "host agent (ferry agent): each agent's own value applies to the migrations it runs",
  'requesting process': 'requesting process (the CLI or API that starts a resize)',
  'database users': 'database (control plane, API and CLI; never a host agent)',
  API: 'API (ferry api)',
  'metrics endpoints':
    "the control worker's and each host agent's own /metrics endpoint (docs/metrics.md)",
  'ferry dev': 'ferry dev (npm start)',
};

function integer(min: number, max = Number.MAX_SAFE_INTEGER): Parse<number> {
  return (raw, name) => {
    const value = Number(raw);
    if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(value)) {
      throw new ConfigError(`${name}: "${raw}" is not an integer`);
    }
    if (value < min || value > max) {
      throw new ConfigError(`${name}: ${value} is out of range (${min}..${max})`);
    }
    return value;
  };
}

const boolean: Parse<boolean> = (raw, name) => {
  const value = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  throw new ConfigError(`${name}: "${raw}" is not a boolean (true or false)`);
};

function oneOf<T extends string>(...values: T[]): Parse<T> {
  return (raw, name) => {
    if ((values as string[]).includes(raw)) return raw as T;
    throw new ConfigError(`${name}: "${raw}" must be one of ${values.join(', ')}`);
  };
}

const nonEmpty: Parse<string> = (raw, name) => {
  if (raw.trim() === '') throw new ConfigError(`${name}: must not be empty`);
  return raw.trim();
};

/** An absolute path (relative ones are taken from the project root) to a file that exists. */
const readablePath: Parse<string> = (raw, name) => {
  const path = resolve(projectRoot(), nonEmpty(raw, name));
  try {
    readFileSync(path);
  } catch (error) {
    throw new ConfigError(`${name}: cannot read ${path}: ${(error as Error).message}`);
  }
  return path;
};

const hostPort: Parse<string> = (raw, name) => {
  if (!/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/.test(raw)) {
    throw new ConfigError(`${name}: "${raw}" is not HOST:PORT`);
  }
  return raw;
};

const databaseUrl: Parse<string> = (raw, name) => {
  if (raw.startsWith('file:')) {
    const path = raw.slice('file:'.length);
    if (path === '') throw new ConfigError(`${name}: "file:" needs a path`);
    return `file:${isAbsolute(path) ? path : resolve(projectRoot(), path)}`;
  }
  if (/^postgres(ql)?:\/\//.test(raw)) return raw;
  throw new ConfigError(
    `${name}: "${redactUrl(raw)}" is neither file:PATH (SQLite) nor postgresql://... (PostgreSQL)`,
  );
};

const apiTokens: Parse<ApiToken[]> = (raw, name) =>
  raw
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      const at = entry.lastIndexOf(':');
      const token = entry.slice(0, at);
      const role = entry.slice(at + 1);
      if (at < 1 || (role !== 'admin' && role !== 'member')) {
        throw new ConfigError(`${name}: each entry must be TOKEN:admin or TOKEN:member`);
      }
      if (token.length < 16) {
        throw new ConfigError(`${name}: tokens must be at least 16 characters`);
      }
      return { token, role };
    });

/** Hides the password of a database URL before it is shown anywhere. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

function option<K extends keyof FerryConfig>(spec: OptionSpec<K>): OptionSpec<K> {
  return spec;
}

const fixed =
  <T>(value: T) =>
  () =>
    value;

/** Every setting ferry reads, in the order README's configuration table lists them. */
export const OPTIONS = [
  option({
    key: 'dataDir',
    env: 'FERRY_DATA_DIR',
    file: 'data_dir',
    default: () => join(projectRoot(), 'data'),
    parse: (raw, name) => resolve(projectRoot(), nonEmpty(raw, name)),
    describe: 'Where the dev server, SQLite database and lab keep their files',
    shownDefault: '`data/`',
    appliesTo: 'every process',
  }),
  option({
    key: 'temporalAddress',
    env: 'FERRY_TEMPORAL_ADDRESS',
    file: 'temporal_address',
    default: fixed('127.0.0.1:7233'),
    parse: hostPort,
    describe: 'Temporal frontend (HOST:PORT)',
    shownDefault: '`127.0.0.1:7233`',
    appliesTo: 'every process',
  }),
  option({
    key: 'temporalNamespace',
    env: 'FERRY_TEMPORAL_NAMESPACE',
    file: 'temporal_namespace',
    default: fixed('default'),
    parse: nonEmpty,
    describe: 'Temporal namespace',
    shownDefault: '`default`',
    appliesTo: 'every process',
  }),
  option({
    key: 'temporalUiPort',
    env: 'FERRY_TEMPORAL_UI_PORT',
    file: 'temporal_ui_port',
    default: fixed(8233),
    parse: integer(1, 65535),
    describe: 'Web UI port of the dev server that `npm start` runs',
    shownDefault: '8233',
    appliesTo: 'ferry dev',
  }),
  option({
    key: 'temporalTlsCaFile',
    env: 'FERRY_TEMPORAL_TLS_CA',
    file: 'temporal_tls_ca',
    default: fixed<string | null>(null),
    parse: readablePath,
    describe: "CA certificate (PEM) that signed the Temporal frontend's; setting it turns TLS on",
    shownDefault: 'none',
    appliesTo: 'every process',
  }),
  option({
    key: 'temporalTlsCertFile',
    env: 'FERRY_TEMPORAL_TLS_CERT',
    file: 'temporal_tls_cert',
    default: fixed<string | null>(null),
    parse: readablePath,
    describe: 'Client certificate (PEM) for mutual TLS to Temporal; needs the key too',
    shownDefault: 'none',
    appliesTo: 'every process',
  }),
  option({
    key: 'temporalTlsKeyFile',
    env: 'FERRY_TEMPORAL_TLS_KEY',
    file: 'temporal_tls_key',
    default: fixed<string | null>(null),
    parse: readablePath,
    describe: "The client certificate's private key (PEM)",
    shownDefault: 'none',
    appliesTo: 'every process',
  }),
  option({
    key: 'temporalTlsServerName',
    env: 'FERRY_TEMPORAL_TLS_SERVER_NAME',
    file: 'temporal_tls_server_name',
    default: fixed<string | null>(null),
    parse: nonEmpty,
    describe: "Name to check the frontend's certificate against, when not the address's host",
    shownDefault: 'address host',
    appliesTo: 'every process',
  }),
  option({
    key: 'databaseUrl',
    env: 'FERRY_DATABASE_URL',
    file: 'database_url',
    default: (partial, env) =>
      env.DATABASE_URL
        ? databaseUrl(env.DATABASE_URL, 'DATABASE_URL')
        : `file:${join(partial.dataDir ?? join(projectRoot(), 'data'), 'ferry.db')}`,
    parse: databaseUrl,
    describe: '`file:PATH` for SQLite or `postgresql://…`; falls back to `DATABASE_URL`',
    shownDefault: '`file:data/ferry.db`',
    appliesTo: 'database users',
  }),
  option({
    key: 'resizeConfirmWindowSeconds',
    env: 'FERRY_RESIZE_CONFIRM_WINDOW',
    file: 'resize_confirm_window',
    default: fixed(86400),
    parse: integer(0),
    describe: 'Seconds a resize waits in VERIFY_RESIZE before it confirms itself; 0 = never',
    shownDefault: '86400',
    appliesTo: 'control plane',
  }),
  option({
    key: 'allowResizeToSameHost',
    env: 'FERRY_ALLOW_RESIZE_TO_SAME_HOST',
    file: 'allow_resize_to_same_host',
    default: fixed(false),
    parse: boolean,
    describe: 'Let the scheduler keep a resized instance on its own host',
    shownDefault: 'false',
    appliesTo: 'requesting process',
  }),
  option({
    key: 'shutdownTimeoutSeconds',
    env: 'FERRY_SHUTDOWN_TIMEOUT',
    file: 'shutdown_timeout',
    default: fixed(60),
    parse: integer(1, 240),
    describe:
      'Seconds (at most 240) a resize waits for a graceful guest shutdown before it destroys the domain',
    shownDefault: '60',
    appliesTo: 'requesting process',
  }),
  option({
    key: 'maxConcurrentLiveMigrations',
    env: 'FERRY_MAX_CONCURRENT_LIVE_MIGRATIONS',
    file: 'max_concurrent_live_migrations',
    default: fixed(1),
    parse: integer(1, 64),
    describe: 'Outgoing live migrations per source host at once; the rest wait as `queued`',
    shownDefault: '1',
    appliesTo: 'control plane',
  }),
  option({
    key: 'reportIntervalSeconds',
    env: 'FERRY_REPORT_INTERVAL',
    file: 'report_interval',
    default: fixed(10),
    parse: integer(1, 3600),
    describe: "Seconds between two heartbeats the control plane asks of every host's agent",
    shownDefault: '10',
    appliesTo: 'control plane',
  }),
  option({
    key: 'serviceDownTimeSeconds',
    env: 'FERRY_SERVICE_DOWN_TIME',
    file: 'service_down_time',
    default: fixed(60),
    parse: integer(1, 86400),
    describe: 'Seconds without a heartbeat after which a host is down',
    shownDefault: '60',
    appliesTo: 'control plane',
  }),
  option({
    key: 'maxConcurrentMigrations',
    env: 'FERRY_MAX_CONCURRENT_MIGRATIONS',
    file: 'max_concurrent_migrations',
    default: fixed(5),
    parse: integer(1, 100_000),
    describe: 'Migrations of any kind at once in the whole fleet; the rest wait as `queued`',
    appliesTo: 'control plane',
    shownDefault: '5',
  }),
  option({
    key: 'liveMigrationCompletionTimeoutPerGiB',
    env: 'FERRY_LIVE_MIGRATION_COMPLETION_TIMEOUT',
    file: 'live_migration_completion_timeout',
    default: fixed(800),
    parse: integer(0),
    describe: 'Seconds per GiB of data before the timeout action; 0 = no timeout',
    shownDefault: '800',
    appliesTo: 'host agent',
  }),
  option({
    key: 'liveMigrationTimeoutAction',
    env: 'FERRY_LIVE_MIGRATION_TIMEOUT_ACTION',
    file: 'live_migration_timeout_action',
    default: fixed<LiveMigrationTimeoutAction>('abort'),
    parse: oneOf<LiveMigrationTimeoutAction>('abort', 'force_complete'),
    describe: 'What the completion timeout does: `abort` or `force_complete`',
    shownDefault: '`abort`',
    appliesTo: 'host agent',
  }),
  option({
    key: 'liveMigrationProgressTimeoutSeconds',
    env: 'FERRY_LIVE_MIGRATION_PROGRESS_TIMEOUT',
    file: 'live_migration_progress_timeout',
    default: fixed(150),
    parse: integer(0),
    describe: 'Abort when data remaining has not dropped for this long; 0 = never',
    shownDefault: '150',
    appliesTo: 'host agent',
  }),
  option({
    key: 'liveMigrationMaxDowntimeMs',
    env: 'FERRY_LIVE_MIGRATION_DOWNTIME',
    file: 'live_migration_downtime',
    default: fixed(500),
    parse: integer(100),
    describe: 'Maximum guest downtime (ms) the downtime steps end at',
    shownDefault: '500',
    appliesTo: 'host agent',
  }),
  option({
    key: 'liveMigrationDowntimeSteps',
    env: 'FERRY_LIVE_MIGRATION_DOWNTIME_STEPS',
    file: 'live_migration_downtime_steps',
    default: fixed(10),
    parse: integer(3),
    describe: 'Number of steps to reach the maximum downtime',
    shownDefault: '10',
    appliesTo: 'host agent',
  }),
  option({
    key: 'liveMigrationDowntimeDelayPerGiB',
    env: 'FERRY_LIVE_MIGRATION_DOWNTIME_DELAY',
    file: 'live_migration_downtime_delay',
    default: fixed(75),
    parse: integer(3),
    describe: 'Seconds per GiB of data between downtime steps',
    shownDefault: '75',
    appliesTo: 'host agent',
  }),
  option({
    key: 'liveMigrationBandwidthMiBs',
    env: 'FERRY_LIVE_MIGRATION_BANDWIDTH',
    file: 'live_migration_bandwidth',
    default: fixed(0),
    parse: integer(0),
    describe: 'Migration bandwidth cap in MiB/s; 0 = unlimited',
    shownDefault: '0',
    appliesTo: 'host agent',
  }),
  option({
    key: 'liveMigrationPermitPostCopy',
    env: 'FERRY_LIVE_MIGRATION_PERMIT_POST_COPY',
    file: 'live_migration_permit_post_copy',
    default: fixed(false),
    parse: boolean,
    describe: 'Force-complete may switch to post-copy (else it pauses the guest)',
    shownDefault: 'false',
    appliesTo: 'host agent',
  }),
  option({
    key: 'liveMigrationPostCopyBandwidthMiBs',
    env: 'FERRY_LIVE_MIGRATION_POSTCOPY_BANDWIDTH',
    file: 'live_migration_postcopy_bandwidth',
    default: fixed(0),
    parse: integer(0),
    describe: 'Bandwidth cap of the post-copy phase in MiB/s; 0 = unlimited',
    shownDefault: '0',
    appliesTo: 'host agent',
  }),
  option({
    key: 'liveMigrationPostCopyStallTimeoutSeconds',
    env: 'FERRY_LIVE_MIGRATION_POSTCOPY_STALL_TIMEOUT',
    file: 'live_migration_postcopy_stall_timeout',
    default: fixed(10),
    parse: integer(1),
    describe:
      'Seconds a post-copy may move no data before its link counts as broken and it is paused',
    shownDefault: '10',
    appliesTo: 'host agent',
  }),
  option({
    key: 'liveMigrationPostCopyResumeTimeoutSeconds',
    env: 'FERRY_LIVE_MIGRATION_POSTCOPY_RESUME_TIMEOUT',
    file: 'live_migration_postcopy_resume_timeout',
    default: fixed(300),
    parse: integer(0),
    describe: 'Seconds a broken post-copy is retried until it resumes; then the instance is ERROR',
    shownDefault: '300',
    appliesTo: 'host agent',
  }),
  option({
    key: 'liveMigrationPermitAutoConverge',
    env: 'FERRY_LIVE_MIGRATION_PERMIT_AUTO_CONVERGE',
    file: 'live_migration_permit_auto_converge',
    default: fixed(false),
    parse: boolean,
    describe: 'Let QEMU throttle the guest CPU so a busy guest converges',
    shownDefault: 'false',
    appliesTo: 'host agent',
  }),
  option({
    key: 'liveMigrationWithNativeTls',
    env: 'FERRY_LIVE_MIGRATION_WITH_NATIVE_TLS',
    file: 'live_migration_with_native_tls',
    default: () => hasMigrationTlsCertificates(),
    parse: boolean,
    describe:
      'Encrypt memory and disk streams with QEMU TLS; a host without certificates is refused',
    shownDefault: 'true if certificates',
    appliesTo: 'host agent',
  }),
  option({
    key: 'schedulerMaxAttempts',
    env: 'FERRY_SCHEDULER_MAX_ATTEMPTS',
    file: 'scheduler_max_attempts',
    default: fixed(3),
    parse: integer(1, 100),
    describe: 'Destinations tried (the choice plus alternates) before NoValidHost',
    shownDefault: '3',
    appliesTo: 'control plane',
  }),
  option({
    key: 'apiHost',
    env: 'FERRY_API_HOST',
    file: 'api_host',
    default: fixed('127.0.0.1'),
    parse: nonEmpty,
    describe: 'Address the REST API binds to',
    shownDefault: '`127.0.0.1`',
    appliesTo: 'API',
  }),
  option({
    key: 'apiPort',
    env: 'FERRY_API_PORT',
    file: 'api_port',
    default: fixed(8774),
    parse: integer(1, 65535),
    describe: 'REST API port',
    shownDefault: '8774',
    appliesTo: 'API',
  }),
  option({
    key: 'apiTokens',
    env: 'FERRY_API_TOKENS',
    file: 'api_tokens',
    default: fixed<ApiToken[]>([]),
    parse: apiTokens,
    describe:
      'API tokens, `TOKEN:admin,TOKEN:member` (≥ 16 characters each); none = no auth, loopback only',
    shownDefault: 'none',
    appliesTo: 'API',
  }),
  option({
    key: 'metricsHost',
    env: 'FERRY_METRICS_HOST',
    file: 'metrics_host',
    default: fixed('127.0.0.1'),
    parse: nonEmpty,
    describe: "Address the control worker's and the agents' `/metrics` bind to",
    shownDefault: '`127.0.0.1`',
    appliesTo: 'metrics endpoints',
  }),
  option({
    key: 'metricsPort',
    env: 'FERRY_METRICS_PORT',
    file: 'metrics_port',
    default: fixed(9775),
    parse: integer(0, 65535),
    describe: "The control worker's `/metrics` port (ferry's and the Temporal SDK's); 0 = off",
    shownDefault: '9775',
    appliesTo: 'metrics endpoints',
  }),
  option({
    key: 'agentMetricsPort',
    env: 'FERRY_AGENT_METRICS_PORT',
    file: 'agent_metrics_port',
    default: fixed(0),
    parse: integer(0, 65535),
    describe: "Each host agent's `/metrics` port (ferry's and the Temporal SDK's); 0 = off",
    shownDefault: '0 (off)',
    appliesTo: 'metrics endpoints',
  }),
  option({
    key: 'logLevel',
    env: 'FERRY_LOG_LEVEL',
    file: 'log_level',
    default: fixed('info'),
    parse: oneOf('trace', 'debug', 'info', 'warn', 'error', 'fatal'),
    describe: 'pino log level',
    shownDefault: '`info`',
    appliesTo: 'every process',
  }),
  option({
    key: 'logFormat',
    env: 'FERRY_LOG_FORMAT',
    file: 'log_format',
    default: fixed<LogFormat>('auto'),
    parse: oneOf<LogFormat>('auto', 'json', 'pretty'),
    describe: '`json` lines, `pretty`, or `auto` (pretty on a terminal)',
    shownDefault: '`auto`',
    appliesTo: 'every process',
  }),
] as const;

function readConfigFile(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const path = env.FERRY_CONFIG;
  if (!path) return {};
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`FERRY_CONFIG: cannot read ${path}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`FERRY_CONFIG: ${path} is not JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`FERRY_CONFIG: ${path} must hold a JSON object`);
  }
  const known = new Set<string>(OPTIONS.map((spec) => spec.file));
  for (const key of Object.keys(parsed)) {
    if (!known.has(key)) throw new ConfigError(`FERRY_CONFIG: ${path}: unknown setting "${key}"`);
  }
  return parsed as Record<string, unknown>;
}

function fileValueAsText(value: unknown, where: string): string {
  if (Array.isArray(value)) return value.map((item) => fileValueAsText(item, where)).join(',');
  if (['string', 'number', 'boolean'].includes(typeof value)) return String(value);
  throw new ConfigError(`${where}: must be a string, number or boolean`);
}

/**
 * Reads ferry's configuration: FERRY_* variables first, then the JSON file named by FERRY_CONFIG,
 * then the defaults. Throws ConfigError naming the variable of the first invalid value.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): FerryConfig {
  const file = readConfigFile(env);
  const config: Partial<Record<keyof FerryConfig, unknown>> = {};
  for (const spec of OPTIONS) {
    const fromEnv = env[spec.env];
    if (fromEnv !== undefined && fromEnv !== '') {
      config[spec.key] = spec.parse(fromEnv, spec.env);
    } else if (file[spec.file] !== undefined) {
      const where = `FERRY_CONFIG ${spec.file}`;
      config[spec.key] = spec.parse(fileValueAsText(file[spec.file], where), where);
    } else {
      config[spec.key] = spec.default(config as Partial<FerryConfig>, env);
    }
  }
  return checkTemporalTls(config as FerryConfig);
}

/** A client certificate needs its key and a CA; the other TLS settings need the CA. */
function checkTemporalTls(config: FerryConfig): FerryConfig {
  const { temporalTlsCaFile, temporalTlsCertFile, temporalTlsKeyFile } = config;
  if ((temporalTlsCertFile === null) !== (temporalTlsKeyFile === null)) {
    throw new ConfigError(
      'FERRY_TEMPORAL_TLS_CERT and FERRY_TEMPORAL_TLS_KEY: set both (mutual TLS) or neither',
    );
  }
  if (temporalTlsCaFile === null && (temporalTlsCertFile ?? config.temporalTlsServerName)) {
    throw new ConfigError(
      'FERRY_TEMPORAL_TLS_CA: needed by the other FERRY_TEMPORAL_TLS_* settings',
    );
  }
  return config;
}

/**
 * A host agent's own settings (`ferry agent --host NAME`), besides the `every process` and
 * `host agent` ones above. An agent never opens the database: everything it needs of the Host rows
 * comes in its activities' requests (docs/host-agent.md). A host thus runs its agent with
 *
 *   FERRY_TEMPORAL_ADDRESS=temporal.example:7233 (+ FERRY_TEMPORAL_TLS_* when TLS)
 *   FERRY_LIBVIRT_URI=qemu:///system  FERRY_INSTANCES_DIR=/var/lib/ferry/instances
 *   ferry agent --host NAME
 *
 * and without FERRY_DATABASE_URL or DATABASE_URL, which make it refuse to start. The instances
 * dir must be the one the host is registered with (`ferry hosts refresh` refuses a mismatch).
 */
export interface AgentConfig {
  /** The libvirt URI the agent opens its own host's libvirtd with. */
  libvirtUri: string;
  /** The host's instances dir: every disk ferry touches on it lies inside. */
  instancesDir: string;
}

/** The agent's settings: environment only, flags of `ferry agent` take precedence. */
export const AGENT_OPTIONS = [
  {
    key: 'libvirtUri',
    env: 'FERRY_LIBVIRT_URI',
    flag: '--libvirt-uri',
    default: 'qemu:///system',
    describe: "libvirt URI of the agent's own host",
  },
  {
    key: 'instancesDir',
    env: 'FERRY_INSTANCES_DIR',
    flag: '--instances-dir',
    default: '/var/lib/ferry/instances',
    describe: "The host's instances dir, as registered with `ferry hosts add --instances-dir`",
  },
] as const satisfies readonly {
  key: keyof AgentConfig;
  env: string;
  flag: string;
  default: string;
  describe: string;
}[];

/** The variables that would give an agent a database; their presence makes `ferry agent` refuse. */
export const DATABASE_VARIABLES = ['FERRY_DATABASE_URL', 'DATABASE_URL'] as const;

/** `env` without the variables that would hand a process the database: a host agent's. */
export function withoutDatabase(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const kept = { ...env };
  for (const name of DATABASE_VARIABLES) delete kept[name];
  return kept;
}

/**
 * Reads a host agent's own settings from `flags` (given ones win) and the environment; refuses an
 * environment that hands it a database, and values it cannot use.
 */
export function loadAgentConfig(
  flags: Partial<AgentConfig>,
  env: NodeJS.ProcessEnv = process.env,
): AgentConfig {
  const given = DATABASE_VARIABLES.filter((name) => (env[name] ?? '') !== '');
  if (given.length > 0) {
    throw new ConfigError(
      `${given.join(', ')}: a host agent never opens the database; unset it (docs/host-agent.md)`,
    );
  }
  const value = (option: (typeof AGENT_OPTIONS)[number]) =>
    flags[option.key] ?? (env[option.env] || undefined) ?? option.default;
  const libvirtUri = value(AGENT_OPTIONS[0]);
  const instancesDir = value(AGENT_OPTIONS[1]);
  if (!/^[a-z0-9+]+:\/\//.test(libvirtUri)) {
    throw new ConfigError(`FERRY_LIBVIRT_URI: "${libvirtUri}" is not a libvirt URI`);
  }
  if (!isAbsolute(instancesDir)) {
    throw new ConfigError(`FERRY_INSTANCES_DIR: "${instancesDir}" is not an absolute path`);
  }
  return { libvirtUri, instancesDir };
}

/** The provider a database URL selects. */
export function databaseProvider(url: string): 'sqlite' | 'postgresql' {
  return url.startsWith('file:') ? 'sqlite' : 'postgresql';
}
