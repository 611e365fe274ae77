import { parseArgs } from 'node:util';
import {
  AGENT_OPTIONS,
  APPLIES_TO,
  ConfigError,
  loadAgentConfig,
  loadConfig,
  OPTIONS,
  redactUrl,
  type FerryConfig,
} from '../config';
import { createLogger } from '../config/logging';
import { UsageError } from './usage-error';

// Commands load what they need when they run: the Temporal worker and the database client take
// seconds to load, and `ferry hosts list` should not wait for the worker's bundler.

const USAGE = `usage: ferry COMMAND
  dev                      the whole stack on this machine (what npm start runs)
  control                  the control worker (workflows, database, scheduler)
  agent --host NAME [--libvirt-uri URI] [--instances-dir DIR]
                           the host agent of a compute host (no database: docs/host-agent.md)
  api                      the REST API
  hosts add NAME --libvirt-uri URI [--ssh-address A] [--ssh-port P] [--ssh-host-key K]
            [--instances-dir D] [--json]
  hosts list [--json]      registered hosts and what their hypervisors reported
  hosts refresh [--json]   ask every host's agent for its hypervisor and record it
  hosts disable NAME [--reason TEXT] | hosts enable NAME
                           stop or resume placing instances on a host
  hosts drain NAME [--dry-run] [--concurrency N] [--deadline DURATION] [--attempts N]
            [--exclude INSTANCE ...] [--wait] [--json] | hosts drain NAME --abort
                           empty a host: disable it, move every instance off (admin)
  hosts undrain NAME [--return] [--wait]
                           enable a drained host; --return moves its drained instances back
  drains list [--json] | drains show NAME|ID [--json]
                           drains with what each instance went through
  instances list [--host H] [--json] | instances show NAME|UUID [--json]
                           instances with Nova's status (ACTIVE, SHUTOFF, MIGRATING, ...)
  instances import --host H [--flavor F] [--json]
                           register the domains on H's libvirt that ferry does not know yet
  migrations list [--instance X] [--status S] [--type live-migration|migration|resize] [--json]
  migrations show ID [--json]
                           migrations with their progress; show adds the action's events
  flavors list [--json]    the flavors instances can have
  flavors create NAME --vcpus N --memory-mb M --disk-gb D [--id ID] [--json]
                           add a flavor (its id is NAME unless --id is given)
  live-migrate INSTANCE [--host H] [--block-migration auto|true|false] [--wait] [--json]
                           move a running instance to another host (admin)
  abort INSTANCE [--json]  abort the instance's live migration (queued, preparing or running)
  force-complete INSTANCE [--json]
                           make the running live migration converge (post-copy, else pause)
  migrate INSTANCE [--host H] [--wait] [--json]
                           cold-migrate an instance (shut down, copy, start there)
  resize INSTANCE --flavor F [--wait] [--json]
                           resize an instance to another flavor
  confirm INSTANCE [--json] | revert INSTANCE [--json]
                           end a resize that waits in VERIFY_RESIZE
  lab up [--hosts N] | down | status [--json]
  lab guest NAME --host H [--disk-mb M] [--dirty-mb D]
                           the local multi-host lab (hosts in network namespaces)
  db migrate               apply the database migrations this ferry has
  config [--json]          the configuration in force (secrets hidden)`;

async function serveApi(config: FerryConfig): Promise<number> {
  const logger = createLogger(config, 'api');
  if (
    config.apiTokens.length === 0 &&
    !['127.0.0.1', '::1', 'localhost'].includes(config.apiHost)
  ) {
    throw new ConfigError(
      `FERRY_API_HOST: ${config.apiHost} is not loopback, and FERRY_API_TOKENS is empty; refusing to serve without auth`,
    );
  }
  const { openDatabase } = await import('../db/database.js');
  const { createApiServer, listen } = await import('../api/server.js');
  const { Client, Connection } = await import('@temporalio/client');
  const db = await openDatabase(config.databaseUrl);
  // Lazy: the API starts (and /health says so) while Temporal is not up yet.
  const { temporalTls } = await import('../temporal/tls.js');
  const connection = Connection.lazy({
    address: config.temporalAddress,
    connectTimeout: '5s',
    tls: temporalTls(config),
  });
  const client = new Client({ connection, namespace: config.temporalNamespace });
  const server = createApiServer(config, db, client, logger);
  const port = await listen(server, config.apiHost, config.apiPort);
  if (config.apiTokens.length === 0) {
    logger.warn('NO AUTH: FERRY_API_TOKENS is empty; the API answers anyone on loopback');
  }
  logger.info({ url: `http://${config.apiHost}:${port}` }, 'API listening');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await new Promise((resolve) => server.close(resolve));
  await connection.close();
  await db.$disconnect();
  return 0;
}

function showConfig(config: FerryConfig, args: string[]): string {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } } });
  const shown = {
    ...config,
    databaseUrl: redactUrl(config.databaseUrl),
    apiTokens: config.apiTokens.map((token) => ({ token: '***', role: token.role })),
  };
  if (values.json) return JSON.stringify(shown);
  const line = (key: string, value: unknown) =>
    `  ${key} = ${typeof value === 'string' ? value : JSON.stringify(value)}`;
  const groups = Object.entries(APPLIES_TO).map(([group, heading]) => {
    const settings = OPTIONS.filter((spec) => spec.appliesTo === group);
    const lines = settings.map((spec) => line(spec.key, shown[spec.key]));
    if (group === 'host agent') {
      lines.push(
        ...AGENT_OPTIONS.map((spec) =>
          line(spec.key, `${process.env[spec.env] || spec.default} (${spec.env} or ${spec.flag})`),
        ),
      );
    }
    return [`${heading}:`, ...lines].join('\n');
  });
  return groups.join('\n');
}

/** `ferry agent`: the agent's settings, refusing a database (it never opens one). */
async function runAgent(config: FerryConfig, args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      host: { type: 'string' },
      'libvirt-uri': { type: 'string' },
      'instances-dir': { type: 'string' },
      database: { type: 'string' },
    },
  });
  if (values.database !== undefined) {
    throw new UsageError('--database: a host agent never opens the database (docs/host-agent.md)');
  }
  if (!values.host) throw new UsageError('usage: ferry agent --host NAME');
  const agent = loadAgentConfig({
    ...(values['libvirt-uri'] ? { libvirtUri: values['libvirt-uri'] } : {}),
    ...(values['instances-dir'] ? { instancesDir: values['instances-dir'] } : {}),
  });
  const { runHostAgent } = await import('../worker/agent.js');
  await runHostAgent(config, agent, createLogger(config, 'agent'), values.host);
  return 0;
}

async function run(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined || command === 'help' || command === '--help') {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  const config = loadConfig();
  const print = (text: string) => {
    process.stdout.write(`${text}\n`);
    return 0;
  };
  switch (command) {
    case 'dev': {
      const { runDev } = await import('../worker/dev.js');
      return runDev(config, createLogger(config, 'dev'));
    }
    case 'control': {
      const { runControlWorker } = await import('../worker/control.js');
      await runControlWorker(config, createLogger(config, 'control'));
      return 0;
    }
    case 'agent':
      return runAgent(config, args);
    case 'api':
      return serveApi(config);
    case 'hosts': {
      const { hostsCommand } = await import('./commands/hosts.js');
      return print(await hostsCommand(config, args));
    }
    case 'drains': {
      const { drainsCommand } = await import('./commands/drains.js');
      return print(await drainsCommand(config, args));
    }
    case 'instances': {
      const { instancesCommand } = await import('./commands/instances.js');
      return print(await instancesCommand(config, args));
    }
    case 'migrations': {
      const { migrationsCommand } = await import('./commands/migrations.js');
      return print(await migrationsCommand(config, args));
    }
    case 'flavors': {
      const { flavorsCommand } = await import('./commands/flavors.js');
      return print(await flavorsCommand(config, args));
    }
    case 'live-migrate': {
      const { liveMigrateCommand } = await import('./commands/live-migrate.js');
      return print(await liveMigrateCommand(config, args));
    }
    case 'abort':
    case 'force-complete': {
      const { migrationControlCommand } = await import('./commands/migration-control.js');
      return print(await migrationControlCommand(config, command, args));
    }
    case 'migrate':
    case 'resize':
    case 'confirm':
    case 'revert': {
      const { resizeCommand } = await import('./commands/resize.js');
      return print(await resizeCommand(config, command, args));
    }
    case 'lab': {
      const { labCommand } = await import('./commands/lab.js');
      return print(await labCommand(config, args));
    }
    case 'db': {
      if (args[0] !== 'migrate') throw new UsageError('usage: ferry db migrate');
      const { migrateDatabase } = await import('../db/migrate.js');
      const applied = await migrateDatabase(config.databaseUrl);
      return print(`applied: ${applied.join(', ') || 'nothing new'}`);
    }
    case 'config':
      return print(showConfig(config, args));
    default:
      throw new UsageError(`unknown command "${command}"\n${USAGE}`);
  }
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const known = error instanceof UsageError || error instanceof ConfigError;
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`ferry: ${known ? message : message.split('\n')[0]}\n`);
    process.exitCode = known ? 2 : 1;
  },
);
