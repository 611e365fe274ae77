import { parseArgs } from 'node:util';
import { bootLabInstance, bringUpLab, labStateDir, takeDownLab } from '../../lab/fleet';
import { labStatus } from '../../lab/status';
import type { FerryConfig } from '../../config';
import { formatTable } from '../table';
import { UsageError } from '../usage-error';

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
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      hosts: { type: 'string' },
      host: { type: 'string' },
      'disk-mb': { type: 'string' },
      'dirty-mb': { type: 'string' },
      'memory-mb': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  switch (sub) {
    case 'up': {
      const state = await bringUpLab(config, positiveInteger(values.hosts, '--hosts') ?? 2);
      return values.json
        ? status(config, true)
        : `lab up: ${state.hosts.map((h) => `${h.name} (${h.address})`).join(', ')}`;
    }
    case 'down': {
      const forgotten = await takeDownLab(config);
      return `lab down${forgotten.length > 0 ? `; unregistered ${forgotten.join(', ')}` : ''}`;
    }
    case 'status':
      return status(config, values.json as boolean);
    case 'guest': {
      const [name, ...extra] = positionals;
      if (!name || extra.length > 0 || !values.host) {
        throw new UsageError(
          'usage: ferry lab guest NAME --host HOST [--disk-mb M] [--dirty-mb D]',
        );
      }
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
    default:
      throw new UsageError('usage: ferry lab up|down|status|guest');
  }
}
