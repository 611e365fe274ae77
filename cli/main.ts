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
import { failureMessage } from './failure-message';
import { parseCommand, usageError } from './command-spec';
import { findCommand, groupUsageError } from './command-list';
import { AGENT, API, CONFIG, CONTROL, DB_MIGRATE, DEV, HELP } from './commands/main-spec';
import { commandHelp, groupHelp, overview } from './help';

// Commands load what they need when they run: the Temporal worker and the database client take
// seconds to load, and `ferry hosts list` should not wait for the worker's bundler.

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
  const { values } = parseCommand(CONFIG, args);
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
  if (args.some((arg) => arg === '--database' || arg.startsWith('--database='))) {
    throw new UsageError('--database: a host agent never opens the database (docs/host-agent.md)');
  }
  const { values } = parseCommand(AGENT, args);
  if (!values.host) throw usageError(AGENT);
  const agent = loadAgentConfig({
    ...(values['libvirt-uri'] ? { libvirtUri: values['libvirt-uri'] } : {}),
    ...(values['instances-dir'] ? { instancesDir: values['instances-dir'] } : {}),
  });
  const { runHostAgent } = await import('../worker/agent.js');
  await runHostAgent(config, agent, createLogger(config, 'agent'), values.host);
  return 0;
}

/** `ferry help [COMMAND [SUB]]`, `ferry COMMAND [SUB] --help`: on stdout, exit 0. */
function printHelp(words: string[]): number {
  if (words.length === 0) {
    process.stdout.write(`${overview()}\n`);
    return 0;
  }
  const found = findCommand(words);
  process.stdout.write(`${typeof found === 'string' ? groupHelp(found) : commandHelp(found)}\n`);
  return 0;
}

async function run(argv: string[]): Promise<number> {
  const [first, ...args] = argv;
  const command = first === '--help' ? 'help' : first;
  if (command === undefined) {
    process.stdout.write(`${overview()}\n`);
    return 2;
  }
  if (args.includes('--help')) {
    return printHelp([command, ...args.filter((arg) => !arg.startsWith('-')).slice(0, 1)]);
  }
  if (command === 'help') return printHelp(parseCommand(HELP, args).positionals);
  const config = loadConfig();
  const print = (text: string) => {
    process.stdout.write(`${text}\n`);
    return 0;
  };
  switch (command) {
    case 'dev': {
      parseCommand(DEV, args);
      const { runDev } = await import('../worker/dev.js');
      return runDev(config, createLogger(config, 'dev'));
    }
    case 'control': {
      parseCommand(CONTROL, args);
      const { runControlWorker } = await import('../worker/control.js');
      await runControlWorker(config, createLogger(config, 'control'));
      return 0;
    }
    case 'agent':
      return runAgent(config, args);
    case 'api':
      parseCommand(API, args);
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
    case 'evacuate': {
      const { evacuateCommand } = await import('./commands/evacuate.js');
      return print(await evacuateCommand(config, args));
    }
    case 'lab': {
      const { labCommand } = await import('./commands/lab.js');
      return print(await labCommand(config, args));
    }
    case 'db': {
      if (args[0] !== 'migrate') throw groupUsageError('db');
      parseCommand(DB_MIGRATE, args.slice(1));
      const { migrateDatabase } = await import('../db/migrate.js');
      const applied = await migrateDatabase(config.databaseUrl);
      return print(`applied: ${applied.join(', ') || 'nothing new'}`);
    }
    case 'config':
      return print(showConfig(config, args));
    default:
      throw new UsageError(`unknown command "${command}" (ferry help lists the commands)`);
  }
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const known = error instanceof UsageError || error instanceof ConfigError;
    const message = known ? error.message : failureMessage(error);
    process.stderr.write(`ferry: ${message}\n`);
    process.exitCode = known ? 2 : 1;
  },
);
