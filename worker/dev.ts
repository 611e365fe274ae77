import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { migrateDatabase } from '../db/migrate';
import { openDatabase } from '../db/database';
import { runRefreshHosts } from '../client/refresh-hosts';
import { bootLabInstance, bringUpLab, labStateDir, takeDownLab } from '../lab/fleet';
import { LAB_ADDRESS_PREFIX } from '../lab/layout';
import { labStatus } from '../lab/status';
import { withoutDatabase, type FerryConfig } from '../config';
import type { Logger } from '../config/logging';
import { startDevServer, temporalAnswers, type RunningDevServer } from '../temporal/dev-server';
import { CONTROL_NODE_ARGS, controlWorkerEnv } from './control-process';

/** The guest `npm start` boots when it brings the lab up. */
const DEMO_GUEST = 'demo';

interface Child {
  name: string;
  process: ChildProcess;
  exited: Promise<void>;
}

function splitAddress(address: string): { ip: string; port: number } {
  const at = address.lastIndexOf(':');
  return { ip: address.slice(0, at), port: Number(address.slice(at + 1)) };
}

/**
 * `ferry dev` (what `npm start` runs): the whole stack on one machine on the embedded defaults —
 * the Temporal dev server (persistent, under data/), the control worker, an agent per registered
 * host and the API, each its own process. Ctrl-C or SIGTERM stops everything it started.
 */
export async function runDev(config: FerryConfig, logger: Logger): Promise<number> {
  const cli = join(__dirname, '..', 'cli', 'main.js');
  const children: Child[] = [];
  let server: RunningDevServer | undefined;
  let labStartedHere = false;
  let stopping = false;
  let exitCode = 0;
  let wake: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (wake = resolve));

  const stop = (code: number) => {
    if (!stopping) exitCode = code;
    stopping = true;
    wake();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'stopping ferry dev');
    stop(0);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const start = (
    name: string,
    args: string[],
    env: NodeJS.ProcessEnv = process.env,
    nodeArgs: string[] = [],
  ) => {
    const child = spawn(process.execPath, [...nodeArgs, cli, ...args], { stdio: 'inherit', env });
    const exited = new Promise<void>((resolve) =>
      child.once('exit', (code, signal) => {
        if (!stopping) {
          logger.error({ child: name, code, signal }, 'a ferry process exited; stopping the rest');
          stop(1);
        }
        resolve();
      }),
    );
    children.push({ name, process: child, exited });
  };

  try {
    if (await temporalAnswers(config.temporalAddress)) {
      logger.info({ address: config.temporalAddress }, 'using the Temporal server already running');
    } else {
      server = await startDevServer({
        ...splitAddress(config.temporalAddress),
        uiPort: config.temporalUiPort,
        dbFilename: join(config.dataDir, 'temporal.db'),
        namespace: config.temporalNamespace,
        logFile: join(config.dataDir, 'temporal.log'),
      });
      logger.info(
        { address: server.address, ui: `http://127.0.0.1:${config.temporalUiPort}` },
        'Temporal dev server started',
      );
    }
    await migrateDatabase(config.databaseUrl);
    const fleet = await prepareFleet(config, logger);
    labStartedHere = fleet.labStartedHere;
    const hosts = fleet.hosts;
    if (!stopping) start('control', ['control'], controlWorkerEnv(process.env), CONTROL_NODE_ARGS);
    for (const host of fleet.agentHosts) {
      if (!stopping) {
        start(
          `agent ${host.name}`,
          [
            'agent',
            '--host',
            host.name,
            '--libvirt-uri',
            host.libvirtUri,
            '--instances-dir',
            host.instancesDir,
          ],
          withoutDatabase(process.env),
        );
      }
    }
    if (!stopping) start('api', ['api']);
    logger.info(
      { hosts: hosts.map((host) => host.name), api: `http://${config.apiHost}:${config.apiPort}` },
      'ferry is up',
    );
    if (hosts.length > 0 && !stopping) void refreshInventory(config, logger);
    await stopped;
  } catch (error) {
    logger.error({ err: error }, 'ferry dev failed');
    exitCode = 1;
  } finally {
    stopping = true;
    for (const child of children) child.process.kill('SIGTERM');
    const deadline = setTimeout(
      () => children.forEach((child) => child.process.kill('SIGKILL')),
      15_000,
    );
    await Promise.all(children.map((child) => child.exited));
    clearTimeout(deadline);
    if (labStartedHere) {
      logger.info('taking down the lab ferry dev brought up');
      await takeDownLab(config).catch((error: unknown) =>
        logger.error({ err: error }, 'lab down failed; run ferry lab down'),
      );
    }
    await server?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    logger.info({ exitCode }, 'ferry dev stopped');
  }
  return exitCode;
}

interface Fleet {
  hosts: { name: string }[];
  /** Hosts whose agents ferry dev runs (not the lab's, which the lab starts in its namespaces). */
  agentHosts: { name: string; libvirtUri: string; instancesDir: string }[];
  labStartedHere: boolean;
}

/**
 * The hosts ferry dev serves. A lab whose processes died leaves only stale rows: they are removed.
 * With no host registered, the lab is the embedded default fleet: two hosts and a running guest.
 */
async function prepareFleet(config: FerryConfig, logger: Logger): Promise<Fleet> {
  const lab = await labStatus({ stateDir: labStateDir(config) });
  const db = await openDatabase(config.databaseUrl);
  try {
    const registered = await db.host.findMany({
      select: { name: true, sshAddress: true, libvirtUri: true, instancesDir: true },
    });
    const onLabSubnet = registered.filter((host) =>
      host.sshAddress?.startsWith(LAB_ADDRESS_PREFIX),
    );
    if (onLabSubnet.length > 0 && !lab.up) {
      logger.warn(
        { hosts: onLabSubnet.map((h) => h.name) },
        'the lab is gone; unregistering its hosts',
      );
      await takeDownLab(config);
    }
    if (registered.length > 0 && (lab.up || onLabSubnet.length === 0)) {
      const labHosts = lab.hosts.map((h) => h.name);
      const agentHosts = registered.filter((host) => !labHosts.includes(host.name));
      return { hosts: registered, agentHosts, labStartedHere: false };
    }
  } finally {
    await db.$disconnect();
  }
  logger.info('no hosts registered: bringing up the lab (two hosts in network namespaces)');
  const state = await bringUpLab(config, 2);
  const guest = await bootLabInstance(config, {
    name: DEMO_GUEST,
    host: state.hosts[0].name,
    diskMb: 64,
  });
  logger.info(
    { guest: guest.name, host: guest.host, serialLog: guest.serialLog },
    `lab up: instance ${guest.name} runs on ${guest.host} (npx ferry lab status)`,
  );
  return { hosts: state.hosts, agentHosts: [], labStartedHere: true };
}

/** Records each host's hypervisor on its Host row once the agents are up. */
async function refreshInventory(config: FerryConfig, logger: Logger): Promise<void> {
  try {
    const result = await runRefreshHosts(config);
    logger.info({ refreshed: result.refreshed.length, failed: result.failed }, 'hosts refreshed');
  } catch (error) {
    logger.warn({ err: error }, 'host refresh did not complete');
  }
}
