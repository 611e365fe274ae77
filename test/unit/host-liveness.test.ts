import { hostLiveness } from '../../db/host-liveness';

describe('host liveness', () => {
  const now = new Date('2026-01-01T12:00:00Z');
  const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000);

  it.each([
    ['answered just now', { forcedDown: false, lastHeartbeatAt: ago(0) }, 'up'],
    ['answered service_down_time ago', { forcedDown: false, lastHeartbeatAt: ago(60) }, 'up'],
    [
      'silent longer than service_down_time',
      { forcedDown: false, lastHeartbeatAt: ago(61) },
      'down',
    ],
    ['never answered', { forcedDown: false, lastHeartbeatAt: null }, 'down'],
    ['forced down while answering', { forcedDown: true, lastHeartbeatAt: ago(0) }, 'down'],
  ] as const)('%s: %s', (_what, host, expected) => {
    expect(hostLiveness(host, now, 60)).toBe(expected);
  });
});
