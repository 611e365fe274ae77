/** The declarations of the commands cli/main.ts runs itself: the processes, db, config, help. */
import { AGENT_OPTIONS } from '../../config';
import { defineCommand, JSON_OUTPUT } from '../command-spec';

const [libvirtUri, instancesDir] = AGENT_OPTIONS;

export const DEV = defineCommand({
  name: 'dev',
  operands: '',
  summary: 'the whole stack on this machine (what npm start runs)',
  options: {},
  example: 'ferry dev',
});

export const CONTROL = defineCommand({
  name: 'control',
  operands: '',
  summary: 'the control worker (workflows, database, scheduler)',
  options: {},
  example: 'ferry control',
});

export const AGENT = defineCommand({
  name: 'agent',
  operands: '',
  summary: 'the host agent of a compute host (no database: docs/host-agent.md)',
  options: {
    host: { type: 'string', value: 'NAME', required: true, description: 'the host it serves' },
    'libvirt-uri': {
      type: 'string',
      value: 'URI',
      shownDefault: `${libvirtUri.env}, else ${libvirtUri.default}`,
      description: libvirtUri.describe,
    },
    'instances-dir': {
      type: 'string',
      value: 'DIR',
      shownDefault: `${instancesDir.env}, else ${instancesDir.default}`,
      description: "the host's instances dir, as registered with ferry hosts add",
    },
  },
  example: 'ferry agent --host compute7 --libvirt-uri qemu:///system',
});

export const API = defineCommand({
  name: 'api',
  operands: '',
  summary: 'the REST API',
  options: {},
  example: 'ferry api',
});

export const DB_MIGRATE = defineCommand({
  name: 'db migrate',
  operands: '',
  summary: 'apply the database migrations this ferry has',
  options: {},
  example: 'ferry db migrate',
});

export const CONFIG = defineCommand({
  name: 'config',
  operands: '',
  summary: 'the configuration in force (secrets hidden)',
  options: { json: JSON_OUTPUT },
  example: 'ferry config --json',
});

export const HELP = defineCommand({
  name: 'help',
  operands: '[COMMAND [SUB]]',
  summary: "a command's usage, options and an example (also: ferry COMMAND --help)",
  options: {},
  example: 'ferry help hosts drain',
});
