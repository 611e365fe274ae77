import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { eventHost } from '../../api/action-event-hosts';
import { projectRoot } from '../../config/project-root';

const MIGRATION = { sourceHost: 'src', destHost: 'dst' };

/**
 * The steps the workflows record as instance action events (`record.step('…')`, resize's
 * `settle(record, '…')`, a live migration's step names as module constants and its `const event`
 * of the scheduler's `schedule:<attempt>` and of each destination check): names, with `:` when a
 * detail follows. A string that is not all lower case and underscores (a patch id, a queue's name
 * with a hyphen) is not a step.
 */
function recordedSteps(): string[] {
  const dir = join(projectRoot(), 'workflows');
  const source = readdirSync(dir)
    .filter((file) => file.endsWith('.ts'))
    .map((file) => readFileSync(join(dir, file), 'utf8'))
    .join('\n');
  const pattern =
    /(?:\.step\(|settle\(record, |^const [A-Z_]+ = |const event = )\s*['`]([a-z_]+:?)(?=['`$])/gm;
  return [...new Set([...source.matchAll(pattern)].map((match) => match[1]))];
}

describe('the host of an instance action event', () => {
  it('is the source, the destination or the named host for every step the workflows record, none for the scheduler', () => {
    const steps = recordedSteps();
    expect(steps.length).toBeGreaterThanOrEqual(12);
    for (const step of steps) {
      const event = step.endsWith(':') ? `${step}detail` : step;
      const host = eventHost(event, MIGRATION);
      expect({ event, hasHost: host !== null }).toEqual({
        event,
        hasHost: !event.startsWith('schedule'),
      });
    }
  });

  it('follows where each step runs', () => {
    expect(eventHost('compute_live_migration', MIGRATION)).toBe('src');
    expect(eventHost('compute_pre_live_migration', MIGRATION)).toBe('dst');
    expect(eventHost('compute_finish_resize', MIGRATION)).toBe('dst');
    expect(eventHost('copy_disk:vda', MIGRATION)).toBe('src');
    expect(eventHost('compute_check_can_live_migrate_destination:host3', MIGRATION)).toBe('host3');
    expect(eventHost('schedule:2', MIGRATION)).toBeNull();
    expect(
      eventHost('compute_pre_live_migration', { sourceHost: 'src', destHost: null }),
    ).toBeNull();
    expect(eventHost('compute_live_migration', null)).toBeNull();
    expect(eventHost('some_future_step', MIGRATION)).toBeNull();
  });
});
