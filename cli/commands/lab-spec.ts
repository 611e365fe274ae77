/** The declarations of `ferry lab up|down|status|guest|kill-host|restart-host` (docs/lab.md). */
import { defineCommand, JSON_OUTPUT } from '../command-spec';

export const LAB_UP = defineCommand({
  name: 'lab up',
  operands: '',
  summary: 'start the local multi-host lab (hosts in network namespaces)',
  options: {
    hosts: { type: 'string', value: 'N', default: '2', description: 'how many hosts' },
    'shared-storage': {
      type: 'boolean',
      default: false,
      description: "one instances dir shared by every host, as an NFS export's",
    },
    json: JSON_OUTPUT,
  },
  example: 'ferry lab up --hosts 3 --shared-storage',
});

export const LAB_DOWN = defineCommand({
  name: 'lab down',
  operands: '',
  summary: 'stop the lab and unregister its hosts',
  options: {},
  example: 'ferry lab down',
});

export const LAB_STATUS = defineCommand({
  name: 'lab status',
  operands: '',
  summary: "the lab's hosts and where each guest runs",
  options: { json: JSON_OUTPUT },
  example: 'ferry lab status',
});

export const LAB_GUEST = defineCommand({
  name: 'lab guest',
  operands: 'NAME',
  summary: 'boot and register a lab guest',
  options: {
    host: { type: 'string', value: 'H', required: true, description: 'the lab host to boot it on' },
    'disk-mb': {
      type: 'string',
      value: 'M',
      shownDefault: 'none',
      description: 'a root disk of M MiB',
    },
    'dirty-mb': {
      type: 'string',
      value: 'D',
      shownDefault: '0',
      description: 'MiB of memory it keeps rewriting',
    },
    'memory-mb': {
      type: 'string',
      value: 'M',
      shownDefault: '128',
      description: 'its memory in MiB',
    },
    json: JSON_OUTPUT,
  },
  example: 'ferry lab guest busy --host host1 --memory-mb 192 --dirty-mb 96',
});

export const LAB_KILL_HOST = defineCommand({
  name: 'lab kill-host',
  operands: 'NAME',
  summary: 'kill every process of a lab host at once (libvirtd, guests, agent), as a power cut',
  options: {},
  example: 'ferry lab kill-host host1',
});

export const LAB_RESTART_HOST = defineCommand({
  name: 'lab restart-host',
  operands: 'NAME',
  summary: "start a killed lab host's libvirtd, sshd and agent again",
  options: {},
  example: 'ferry lab restart-host host1',
});
