import {
  bootLabInstance,
  bringUpLab,
  killLabHost,
  labStateDir,
  restartLabHost,
  takeDownLab,
} from '../../lab/fleet';
import { labStatus } from '../../lab/status';
import type { FerryConfig } from '../../config';
import { formatTable } from '../table';
import { UsageError } from '../usage-error';
import { parseCommand, usageError } from '../command-spec';
import { groupUsageError } from '../command-list';
import {
  LAB_DOWN,
  LAB_GUEST,
  LAB_KILL_HOST,
  LAB_RESTART_HOST,
  LAB_STATUS,
  LAB_UP,
} from './lab-spec';

function positiveInteger(raw: string, option: string): number;
function positiveInteger(raw: string | undefined, option: string): number | undefined;
function positiveInteger(raw: string | undefined, option: string): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < 1)
    throw new UsageError(`${option}: "${raw}" is not a positive integer`);
  return value;
}

async function status(config: FerryConfig, json: boolean): Promise<string> {
  const lab = await labStatus({ stateDir: labStateDir(config) });
  const view = {
    sharedStorage: lab.sharedStorage,
    hosts: lab.hosts.map((host) => ({
      name: host.name,
      libvirtUri: host.libvirtUri,
      address: host.address,
      instancesDir: host.instancesDir,
      rootPath: host.rootPath,
      pids: host.pids,
      running: host.running,
    })),
    guests: lab.guests,
  };
  if (json) return JSON.stringify(view);
  if (!lab.up && lab.hosts.length === 0) return 'no lab is up (ferry lab up)';
  return [
    `storage: ${lab.sharedStorage ? 'shared instances dir' : 'host-local instances dirs'}`,
    '',
    formatTable(view.hosts, [
      { header: 'HOST', value: (h) => h.name },
      { header: 'ADDRESS', value: (h) => h.address },
      { header: 'RUNNING', value: (h) => (h.running ? 'yes' : 'NO') },
      { header: 'LIBVIRT URI', value: (h) => h.libvirtUri },
    ]),
    '',
    formatTable(view.guests, [
      { header: 'GUEST', value: (g) => g.name },
      { header: 'HOST', value: (g) => g.host },
      { header: 'UUID', value: (g) => g.uuid },
      { header: 'SERIAL LOG', value: (g) => g.serialLog },
    ]),
  ].join('\n');
}

/** `ferry lab up|down|status|guest`: the local multi-host lab (docs/lab.md). */
export async function labCommand(config: FerryConfig, args: string[]): Promise<string> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'up': {
      const { values } = parseCommand(LAB_UP, rest);
      const state = await bringUpLab(
        config,
        positiveInteger(values.hosts, '--hosts'),
        {},
        {
          sharedStorage: values['shared-storage'],
        },
      );
      const hosts = state.hosts.map((h) => `${h.name} (${h.address})`).join(', ');
      return values.json
        ? status(config, true)
        : `lab up: ${hosts}${state.sharedStorage ? ', instances dir shared' : ''}`;
    }
    case 'down': {
      parseCommand(LAB_DOWN, rest);
      const forgotten = await takeDownLab(config);
      return `lab down${forgotten.length > 0 ? `; unregistered ${forgotten.join(', ')}` : ''}`;
    }
    case 'status':
      return status(config, parseCommand(LAB_STATUS, rest).values.json);
    case 'guest': {
      const { values, positionals } = parseCommand(LAB_GUEST, rest);
      const [name, ...extra] = positionals;
      if (!name || extra.length > 0 || !values.host) throw usageError(LAB_GUEST);
      const guest = await bootLabInstance(config, {
        name,
        host: values.host,
        diskMb: positiveInteger(values['disk-mb'], '--disk-mb'),
        dirtyMb: positiveInteger(values['dirty-mb'], '--dirty-mb'),
        memoryMb: positiveInteger(values['memory-mb'], '--memory-mb'),
      });
      return values.json
        ? JSON.stringify(guest)
        : `guest ${guest.name} (${guest.uuid}) running on ${guest.host}`;
    }
    case 'kill-host': {
      const { positionals } = parseCommand(LAB_KILL_HOST, rest);
      if (positionals.length !== 1) throw usageError(LAB_KILL_HOST);
      const killed = await killLabHost(config, positionals[0]);
      return `${positionals[0]}: killed ${killed.length} processes`;
    }
    case 'restart-host': {
      const { positionals } = parseCommand(LAB_RESTART_HOST, rest);
      if (positionals.length !== 1) throw usageError(LAB_RESTART_HOST);
      await restartLabHost(config, positionals[0]);
      return `${positionals[0]}: libvirtd, sshd and agent running`;
    }
    default:
      throw groupUsageError('lab');
  }
}
