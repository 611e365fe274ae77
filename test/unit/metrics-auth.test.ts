import { authorizeMetrics, isLoopback } from '../../api/auth';
import { ApiError } from '../../api/errors';

const tokens = [
  { token: 'admin-token-0123456789abcdef', role: 'admin' as const },
  { token: 'member-token-0123456789abcdef', role: 'member' as const },
];

/** The status authorizeMetrics refuses with, or 200 when it lets the request through. */
function decision(peer: string | undefined, token?: string): number {
  try {
    authorizeMetrics(tokens, token ? { 'x-auth-token': token } : {}, peer);
    return 200;
  } catch (error) {
    if (error instanceof ApiError) return error.status;
    throw error;
  }
}

describe('who may read the API /metrics', () => {
  it('takes 127.0.0.0/8, ::1 and IPv4-mapped loopback as loopback, nothing else', () => {
    const loopback = ['127.0.0.1', '127.0.0.2', '::1', '::ffff:127.0.0.1'];
    const elsewhere = ['192.0.2.2', '::ffff:192.0.2.2', 'fd00::2', '127.example', undefined];
    expect(loopback.map(isLoopback)).toEqual(loopback.map(() => true));
    expect(elsewhere.map(isLoopback)).toEqual(elsewhere.map(() => false));
  });

  it('lets loopback in without a token; elsewhere 401, 403 for a member, an admin in', () => {
    expect(decision('::1')).toBe(200);
    expect(decision('192.0.2.2')).toBe(401);
    expect(decision('192.0.2.2', 'not-a-token-of-ours-at-all')).toBe(401);
    expect(decision('192.0.2.2', tokens[1].token)).toBe(403);
    expect(decision('192.0.2.2', tokens[0].token)).toBe(200);
  });
});
