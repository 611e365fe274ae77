/** The declarations of the commands moving one instance: live-migrate, migrate, resize and theirs. */
import { defineCommand, JSON_OUTPUT } from '../command-spec';

const HOST = {
  type: 'string',
  value: 'H',
  shownDefault: 'the scheduler picks',
  description: 'the destination host',
} as const;

const WAIT = {
  type: 'boolean',
  default: false,
  description: 'follow it, a progress line per change, until it ends',
} as const;

export const LIVE_MIGRATE = defineCommand({
  name: 'live-migrate',
  operands: 'INSTANCE',
  summary: 'move a running instance to another host (admin)',
  options: {
    host: HOST,
    'block-migration': {
      type: 'string',
      value: 'auto|true|false',
      default: 'auto',
      description: "copy the disks too (auto: ferry decides from the hosts' storage)",
    },
    wait: WAIT,
    json: JSON_OUTPUT,
  },
  example: 'ferry live-migrate demo --host compute8 --wait',
});

export const ABORT = defineCommand({
  name: 'abort',
  operands: 'INSTANCE',
  summary: "abort the instance's live migration (queued, preparing or running)",
  options: { json: JSON_OUTPUT },
  example: 'ferry abort demo',
});

export const FORCE_COMPLETE = defineCommand({
  name: 'force-complete',
  operands: 'INSTANCE',
  summary: 'make the running live migration converge (post-copy, else pause)',
  options: { json: JSON_OUTPUT },
  example: 'ferry force-complete demo',
});

export const MIGRATE = defineCommand({
  name: 'migrate',
  operands: 'INSTANCE',
  summary: 'cold-migrate an instance (shut down, copy, start there)',
  options: {
    host: HOST,
    wait: { ...WAIT, description: 'follow it until VERIFY_RESIZE' },
    json: JSON_OUTPUT,
  },
  example: 'ferry migrate demo --wait',
});

export const RESIZE = defineCommand({
  name: 'resize',
  operands: 'INSTANCE',
  summary: 'resize an instance to another flavor',
  options: {
    flavor: { type: 'string', value: 'F', required: true, description: 'the new flavor' },
    wait: { ...WAIT, description: 'follow it until VERIFY_RESIZE' },
    json: JSON_OUTPUT,
  },
  example: 'ferry resize demo --flavor m1.large --wait',
});

export const CONFIRM = defineCommand({
  name: 'confirm',
  operands: 'INSTANCE',
  summary: 'end a resize waiting in VERIFY_RESIZE: keep the new host and flavor',
  options: { json: JSON_OUTPUT },
  example: 'ferry confirm demo',
});

export const REVERT = defineCommand({
  name: 'revert',
  operands: 'INSTANCE',
  summary: 'end a resize waiting in VERIFY_RESIZE: back to the old host and flavor',
  options: { json: JSON_OUTPUT },
  example: 'ferry revert demo',
});
