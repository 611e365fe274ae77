/**
 * A production-style Temporal server: `temporal-server` built from go.temporal.io/server (the
 * bootstrap builds it with FERRY_PRODUCTION_TEMPORAL=1), all four services in one process, with
 * PostgreSQL persistence and SQL visibility instead of the dev server's SQLite. Its schemas are
 * made with temporal-sql-tool from the schemas embedded in that binary; the `default` namespace and
 * ferry's search attributes are registered with the Temporal CLI. Used by the production-mode
 * tests; README's deployment section names it the reference for a real cluster.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { projectRoot } from '../../config/project-root';
import { FERRY_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { temporalAnswers, temporalBinary } from '../../temporal/dev-server';
import { dynamicConfigFile } from '../../temporal/dynamic-config';
import { temporalTls } from '../../temporal/tls';

export const TEMPORAL_SERVER_VERSION = 'v1.29.1';

export interface ProductionTemporalOptions {
  /** Where the config, the log and the server's root go. */
  dir: string;
  /** PostgreSQL server (no database in the path): `postgresql://user@host:port`. */
  postgresUrl: string;
  /** Names the two databases: `<prefix>` and `<prefix>_visibility`. */
  databasePrefix: string;
  /**
   * Ports (temporalServerPorts): the frontend's gRPC port first, then eight more for the services'
   * RPC and membership.
   */
  ports: number[];
  namespace: string;
  /** TLS on the frontend, with client certificates required (mutual TLS). */
  tls?: ProductionTemporalTls;
}

/** PEM files: the CA that signed both pairs, the frontend's pair, and a client pair. */
export interface ProductionTemporalTls {
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  /** The name in the frontend's certificate. */
  serverName: string;
}

export interface RunningTemporalServer {
  address: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

function serverBinary(name: 'temporal-server' | 'temporal-sql-tool'): string {
  const path = join(projectRoot(), '.tools', 'bin', name);
  if (!existsSync(path)) {
    throw new Error(`${path} is missing: run FERRY_PRODUCTION_TEMPORAL=1 bash scripts/bootstrap`);
  }
  return path;
}

const run = (file: string, args: string[]) =>
  promisify(execFile)(file, args, { maxBuffer: 16 * 1024 * 1024 }).catch((error) => {
    throw new Error(`${file} ${args.join(' ')}: ${(error as { stderr?: string }).stderr ?? error}`);
  });

/** Creates the database and brings its schema to the binary's newest version. Idempotent. */
async function setupDatabase(postgres: URL, database: string, schemaName: string): Promise<void> {
  const connect = [
    '--plugin',
    'postgres12',
    '--ep',
    postgres.hostname,
    '--port',
    postgres.port || '5432',
    '--user',
    decodeURIComponent(postgres.username || 'postgres'),
    '--password',
    decodeURIComponent(postgres.password),
    '--db',
    database,
  ];
  const tool = serverBinary('temporal-sql-tool');
  await run(tool, [...connect, 'create-database']).catch((error: Error) => {
    if (!/already exists/.test(error.message)) throw error;
  });
  await run(tool, [...connect, 'setup-schema', '--version', '0.0']);
  await run(tool, [...connect, 'update-schema', '--schema-name', schemaName]);
}

function datastore(postgres: URL, database: string, maxConns: number): Record<string, unknown> {
  return {
    sql: {
      pluginName: 'postgres12',
      databaseName: database,
      connectAddr: `${postgres.hostname}:${postgres.port || '5432'}`,
      connectProtocol: 'tcp',
      user: decodeURIComponent(postgres.username || 'postgres'),
      password: decodeURIComponent(postgres.password),
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  };
}

/** Mutual TLS on the frontend, for ferry and for the server's own system worker. */
function tlsConfig(tls: ProductionTemporalTls): Record<string, unknown> {
  const client = { serverName: tls.serverName, rootCaFiles: [tls.caFile] };
  return {
    frontend: {
      server: {
        certFile: tls.serverCertFile,
        keyFile: tls.serverKeyFile,
        clientCaFiles: [tls.caFile],
        requireClientAuth: true,
      },
      client,
    },
    systemWorker: { certFile: tls.clientCertFile, keyFile: tls.clientKeyFile, client },
  };
}

const dynamicConfigPath = (options: ProductionTemporalOptions) =>
  join(options.dir, 'config', 'dynamicconfig.yaml');

/** The server's configuration, as JSON (a subset of YAML, which the server reads). */
function serverConfig(options: ProductionTemporalOptions, postgres: URL): string {
  const [frontend, ...others] = options.ports;
  const service = (grpcPort: number, membershipPort: number) => ({
    rpc: { grpcPort, membershipPort, bindOnLocalHost: true },
  });
  const config = {
    log: { stdout: true, level: 'warn' },
    persistence: {
      defaultStore: 'default',
      visibilityStore: 'visibility',
      numHistoryShards: 4,
      datastores: {
        default: datastore(postgres, options.databasePrefix, 20),
        visibility: datastore(postgres, `${options.databasePrefix}_visibility`, 4),
      },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' },
      ...(options.tls && { tls: tlsConfig(options.tls) }),
    },
    services: {
      frontend: service(frontend, others[0]),
      history: service(others[1], others[2]),
      matching: service(others[3], others[4]),
      worker: service(others[5], others[6]),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: {
          enabled: true,
          initialFailoverVersion: 1,
          rpcName: 'frontend',
          rpcAddress: `127.0.0.1:${frontend}`,
        },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: dynamicConfigPath(options), pollInterval: '60s' },
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** Registers the namespace and ferry's search attributes with the Temporal CLI. Idempotent. */
async function registerNamespace(
  address: string,
  namespace: string,
  tls: ProductionTemporalTls | undefined,
): Promise<void> {
  const cli = temporalBinary();
  const connect = ['--address', address];
  if (tls) {
    connect.push('--tls-ca-path', tls.caFile, '--tls-cert-path', tls.clientCertFile);
    connect.push('--tls-key-path', tls.clientKeyFile, '--tls-server-name', tls.serverName);
  }
  await run(cli, ['operator', 'namespace', 'create', ...connect, namespace]).catch(
    (error: Error) => {
      if (!/already|exists/i.test(error.message)) throw error;
    },
  );
  const deadline = Date.now() + 60_000;
  for (;;) {
    const created = await run(cli, [
      'operator',
      'search-attribute',
      'create',
      ...connect,
      '--namespace',
      namespace,
      ...FERRY_SEARCH_ATTRIBUTES.flatMap(({ name }) => ['--name', name, '--type', 'Keyword']),
    ]).then(
      () => undefined,
      (error: Error) => error,
    );
    if (!created || /already/i.test(created.message)) return;
    // A namespace just created takes a moment to reach every service.
    if (Date.now() > deadline) throw created;
    await sleep(1000);
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * Nine distinct free ports for the server's services. Below 32768: the server records membership
 * ports in a PostgreSQL smallint, so an ephemeral port makes it fail at start.
 */
export async function temporalServerPorts(): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < 9) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (!ports.includes(port) && (await portFree(port))) ports.push(port);
  }
  return ports;
}

/** Sets up the databases, starts the server and waits until its frontend answers. */
export async function startProductionTemporal(
  options: ProductionTemporalOptions,
): Promise<RunningTemporalServer> {
  if (options.ports.length !== 9) throw new Error('startProductionTemporal needs nine ports');
  const postgres = new URL(options.postgresUrl);
  await setupDatabase(postgres, options.databasePrefix, 'postgresql/v12/temporal');
  await setupDatabase(
    postgres,
    `${options.databasePrefix}_visibility`,
    'postgresql/v12/visibility',
  );
  mkdirSync(join(options.dir, 'config'), { recursive: true });
  writeFileSync(join(options.dir, 'config', 'production.yaml'), serverConfig(options, postgres));
  writeFileSync(dynamicConfigPath(options), dynamicConfigFile());
  const logFile = join(options.dir, 'temporal-server.log');
  const log = openSync(logFile, 'a');
  const child = spawn(
    serverBinary('temporal-server'),
    [
      '--root',
      options.dir,
      '--config',
      'config',
      '--env',
      'production',
      '--allow-no-auth',
      'start',
    ],
    { stdio: ['ignore', log, log] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const stopped = await Promise.race([exited.then(() => true), sleep(15_000, false)]);
    if (!stopped) child.kill('SIGKILL');
    await exited;
  };
  const address = `127.0.0.1:${options.ports[0]}`;
  const deadline = Date.now() + 90_000;
  const clientTls =
    options.tls &&
    temporalTls({
      temporalTlsCaFile: options.tls.caFile,
      temporalTlsCertFile: options.tls.clientCertFile,
      temporalTlsKeyFile: options.tls.clientKeyFile,
      temporalTlsServerName: options.tls.serverName,
    });
  while (!(await temporalAnswers(address, 2000, clientTls))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      const tail = readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n');
      throw new Error(`temporal-server at ${address} did not come up:\n${tail}`);
    }
    await sleep(500);
  }
  await registerNamespace(address, options.namespace, options.tls);
  return { address, process: child, stop };
}
