/** The declarations of `ferry evacuate` and `ferry hosts evacuate` (docs/evacuate.md). */
import { defineCommand, JSON_OUTPUT } from '../command-spec';

export const EVACUATE = defineCommand({
  name: 'evacuate',
  operands: 'INSTANCE',
  summary: 'start an instance of a down host on another host, from the same disks (admin)',
  options: {
    host: {
      type: 'string',
      value: 'H',
      shownDefault: 'the scheduler picks',
      description: 'the destination host',
    },
    wait: { type: 'boolean', default: false, description: 'wait until it is done or failed' },
    json: JSON_OUTPUT,
  },
  example: 'ferry evacuate demo --host compute8 --wait',
});

export const HOSTS_EVACUATE = defineCommand({
  name: 'hosts evacuate',
  operands: 'NAME',
  summary: 'evacuate every instance of a down host, a few at a time (admin)',
  options: {
    concurrency: {
      type: 'string',
      value: 'N',
      shownDefault: 'max_concurrent_live_migrations',
      description: 'evacuations running at a time',
    },
    wait: {
      type: 'boolean',
      default: false,
      description: 'wait until every one has ended (else: until the last has started)',
    },
    json: JSON_OUTPUT,
  },
  example: 'ferry hosts evacuate compute7 --wait',
});
