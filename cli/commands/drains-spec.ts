/** The declarations of `ferry hosts drain|undrain` and `ferry drains list|show` (docs/drain.md). */
import { defineCommand, JSON_OUTPUT } from '../command-spec';

const CONCURRENCY = {
  type: 'string',
  value: 'N',
  shownDefault: 'max_concurrent_live_migrations',
  description: 'instances moving at a time',
} as const;

const WAIT = {
  type: 'boolean',
  default: false,
  description: 'follow it until it ends, a line per instance',
} as const;

export const HOSTS_DRAIN = defineCommand({
  name: 'hosts drain',
  operands: 'NAME',
  summary: 'empty a host: disable it, move every instance off (admin)',
  options: {
    'dry-run': { type: 'boolean', default: false, description: 'show the plan, change nothing' },
    abort: {
      type: 'boolean',
      default: false,
      description: 'stop its drain: moves not started are dropped, moves in flight roll back',
    },
    concurrency: CONCURRENCY,
    deadline: {
      type: 'string',
      value: 'DURATION',
      shownDefault: 'none',
      description: 'no move starts after it (90m, 2h, 3600s)',
    },
    attempts: { type: 'string', value: 'N', shownDefault: '3', description: 'tries per instance' },
    exclude: {
      type: 'string',
      value: 'INSTANCE',
      multiple: true,
      default: [],
      description: 'an instance to leave where it is (repeatable)',
    },
    wait: WAIT,
    json: JSON_OUTPUT,
  },
  example: 'ferry hosts drain compute7 --concurrency 2 --exclude db1 --wait',
});

export const HOSTS_UNDRAIN = defineCommand({
  name: 'hosts undrain',
  operands: 'NAME',
  summary: 'enable a drained host; --return moves its drained instances back',
  options: {
    return: {
      type: 'boolean',
      default: false,
      description: 'move the instances its last drain moved back to it',
    },
    concurrency: CONCURRENCY,
    wait: WAIT,
    json: JSON_OUTPUT,
  },
  example: 'ferry hosts undrain compute7 --return --wait',
});

export const DRAINS_LIST = defineCommand({
  name: 'drains list',
  operands: '',
  summary: 'drains and returns, newest first',
  options: { json: JSON_OUTPUT },
  example: 'ferry drains list',
});

export const DRAINS_SHOW = defineCommand({
  name: 'drains show',
  operands: 'NAME|ID',
  summary: "a drain (a host's latest, or by id) and what each instance went through",
  options: { json: JSON_OUTPUT },
  example: 'ferry drains show compute7',
});
