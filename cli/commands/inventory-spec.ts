/** The declarations of `ferry instances ...`, `ferry migrations ...` and `ferry flavors ...`. */
import { defineCommand, JSON_OUTPUT } from '../command-spec';

export const INSTANCES_LIST = defineCommand({
  name: 'instances list',
  operands: '',
  summary: "instances with Nova's status (ACTIVE, SHUTOFF, MIGRATING, ...)",
  options: {
    host: {
      type: 'string',
      value: 'H',
      shownDefault: 'every host',
      description: 'only those on H',
    },
    json: JSON_OUTPUT,
  },
  example: 'ferry instances list --host compute7',
});

export const INSTANCES_SHOW = defineCommand({
  name: 'instances show',
  operands: 'NAME|UUID',
  summary: 'an instance and its migrations',
  options: { json: JSON_OUTPUT },
  example: 'ferry instances show demo',
});

export const INSTANCES_IMPORT = defineCommand({
  name: 'instances import',
  operands: '',
  summary: "register the domains on H's libvirt that ferry does not know yet",
  options: {
    host: { type: 'string', value: 'H', required: true, description: 'the host whose domains' },
    flavor: {
      type: 'string',
      value: 'F',
      shownDefault: "the flavor matching each domain's size",
      description: 'the flavor they get',
    },
    json: JSON_OUTPUT,
  },
  example: 'ferry instances import --host compute7',
});

export const MIGRATIONS_LIST = defineCommand({
  name: 'migrations list',
  operands: '',
  summary: 'migrations with their progress, newest first',
  options: {
    instance: {
      type: 'string',
      value: 'X',
      shownDefault: 'every instance',
      description: 'only those of instance X (a name or a UUID)',
    },
    status: { type: 'string', value: 'S', shownDefault: 'any', description: 'only those in S' },
    type: {
      type: 'string',
      value: 'live-migration|migration|resize',
      shownDefault: 'any',
      description: 'only those of that type',
    },
    json: JSON_OUTPUT,
  },
  example: 'ferry migrations list --instance demo --type live-migration',
});

export const MIGRATIONS_SHOW = defineCommand({
  name: 'migrations show',
  operands: 'ID',
  summary: "a migration (an id or a UUID) with its instance action's events",
  options: { json: JSON_OUTPUT },
  example: 'ferry migrations show 1',
});

export const FLAVORS_LIST = defineCommand({
  name: 'flavors list',
  operands: '',
  summary: 'the flavors instances can have',
  options: { json: JSON_OUTPUT },
  example: 'ferry flavors list',
});

export const FLAVORS_CREATE = defineCommand({
  name: 'flavors create',
  operands: 'NAME',
  summary: 'add a flavor (its id is NAME unless --id is given)',
  options: {
    vcpus: { type: 'string', value: 'N', required: true, description: 'virtual CPUs' },
    'memory-mb': { type: 'string', value: 'M', required: true, description: 'memory in MiB' },
    'disk-gb': { type: 'string', value: 'D', required: true, description: 'root disk in GiB' },
    id: { type: 'string', value: 'ID', shownDefault: 'NAME', description: "Nova's flavor id" },
    json: JSON_OUTPUT,
  },
  example: 'ferry flavors create m1.small --vcpus 1 --memory-mb 2048 --disk-gb 20',
});
