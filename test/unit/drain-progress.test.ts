import { describeDrainProgress } from '../../cli/commands/drains';
import { parseDuration } from '../../client/drain';
import type { DrainItemState } from '../../workflows/drain-contract';

const items = (...states: DrainItemState[]) => states.map((state) => ({ state }));

describe("a drain's progress line and its durations", () => {
  it('counts moved, moving, queued (planned too), failed and left', () => {
    const line = describeDrainProgress({
      host: 'host1',
      status: 'running',
      items: items('moved', 'moved', 'moving', 'queued', 'planned', 'failed', 'left'),
    });
    expect(line).toBe('drain of host1: running: 2 moved, 1 moving, 2 queued, 1 failed, 1 left');
  });

  it.each([
    ['90s', 90],
    ['90', 90],
    ['30m', 1800],
    ['2h', 7200],
    ['1h30m', 5400],
  ])('reads %s as %i seconds', (text, seconds) => {
    expect(parseDuration('--deadline', text)).toBe(seconds);
  });

  it.each(['', 'soon', '0s', '-5m', '1d', '30 m'])('refuses "%s", naming the option', (text) => {
    expect(() => parseDuration('--deadline', text)).toThrow(
      `--deadline: "${text}" is not a duration such as 90s, 30m, 2h or 1h30m`,
    );
  });
});
