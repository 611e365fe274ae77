/** The declarations of `ferry hosts add|list|refresh|disable|enable|force-down|force-up`. */
import { defineCommand, JSON_OUTPUT } from '../command-spec';

export const HOSTS_ADD = defineCommand({
  name: 'hosts add',
  operands: 'NAME',
  summary: 'register a compute host',
  options: {
    'libvirt-uri': {
      type: 'string',
      value: 'URI',
      required: true,
      description: "the host's libvirt, as agents and peers reach it: qemu+tls:// or qemu+ssh://",
    },
    'allow-insecure-tcp': {
      type: 'boolean',
      default: false,
      description: 'accept qemu+tcp://, which anyone on the network can drive (a lab only)',
    },
    'ssh-address': {
      type: 'string',
      value: 'A',
      shownDefault: 'none: no disk copies to or from it',
      description: 'where other hosts reach its sshd for disk copies',
    },
    'ssh-port': { type: 'string', value: 'P', default: '22', description: "its sshd's port" },
    'ssh-host-key': {
      type: 'string',
      value: 'K',
      shownDefault: 'none pinned',
      description: 'its OpenSSH host key line, pinned for disk copies',
    },
    'instances-dir': {
      type: 'string',
      value: 'D',
      default: '/var/lib/ferry/instances',
      description: 'where its instances keep their disks',
    },
    json: JSON_OUTPUT,
  },
  example:
    'ferry hosts add compute7 --libvirt-uri qemu+tls://10.0.0.7/system --ssh-address 10.0.0.7',
});

export const HOSTS_LIST = defineCommand({
  name: 'hosts list',
  operands: '',
  summary: 'registered hosts and what their hypervisors reported',
  options: { json: JSON_OUTPUT },
  example: 'ferry hosts list',
});

export const HOSTS_REFRESH = defineCommand({
  name: 'hosts refresh',
  operands: '',
  summary: "ask every host's agent for its hypervisor and record it",
  options: { json: JSON_OUTPUT },
  example: 'ferry hosts refresh',
});

export const HOSTS_DISABLE = defineCommand({
  name: 'hosts disable',
  operands: 'NAME',
  summary: 'stop placing instances on a host; what runs there keeps running',
  options: {
    reason: { type: 'string', value: 'TEXT', shownDefault: 'none', description: 'why, as shown' },
  },
  example: 'ferry hosts disable compute7 --reason "disk replacement"',
});

export const HOSTS_ENABLE = defineCommand({
  name: 'hosts enable',
  operands: 'NAME',
  summary: 'place instances on a disabled host again',
  options: {},
  example: 'ferry hosts enable compute7',
});

export const HOSTS_FORCE_DOWN = defineCommand({
  name: 'hosts force-down',
  operands: 'NAME',
  summary: 'mark a fenced host down whatever its agent answers (docs/host-liveness.md)',
  options: {},
  example: 'ferry hosts force-down compute7',
});

export const HOSTS_FORCE_UP = defineCommand({
  name: 'hosts force-up',
  operands: 'NAME',
  summary: 'end force-down: the heartbeat decides again whether the host is up',
  options: {},
  example: 'ferry hosts force-up compute7',
});
