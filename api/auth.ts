import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import type { ApiRole, ApiToken } from '../config';
import { ApiError } from './errors';

/** Who sent a request: the role of its token, and how it is named in instance actions. */
export interface Caller {
  role: ApiRole;
  requestedBy: string;
}

/** The caller of every request when no token is configured (loopback only, see serveApi). */
const NO_AUTH: Caller = { role: 'admin', requestedBy: 'api:noauth' };

const digest = (text: string) => createHash('sha256').update(text).digest();

const unauthorized = (message: string) =>
  new ApiError(401, message, { 'WWW-Authenticate': 'X-Auth-Token realm="ferry"' });

/**
 * The caller a request's `X-Auth-Token` names, compared in constant time with every configured
 * token; 401 without a token or with an unknown one. With no tokens configured, everyone is admin.
 */
export function authenticate(tokens: ApiToken[], headers: IncomingHttpHeaders): Caller {
  if (tokens.length === 0) return NO_AUTH;
  const sent = headers['x-auth-token'];
  if (typeof sent !== 'string' || sent === '') {
    throw unauthorized('The request you have made requires authentication: send X-Auth-Token.');
  }
  const sentDigest = digest(sent);
  const match = tokens.filter((token) => timingSafeEqual(digest(token.token), sentDigest));
  if (match.length === 0) {
    throw unauthorized('The token in X-Auth-Token is not valid.');
  }
  return { role: match[0].role, requestedBy: `api:${match[0].role}` };
}

/**
 * Nova's policy check of an admin-only rule (`policy` is Nova's name for it, e.g.
 * os_compute_api:os-migrate-server:migrate): a member gets 403. Every caller is at least member.
 */
export function requireAdmin(caller: Caller, policy: string): void {
  if (caller.role !== 'admin') {
    throw new ApiError(403, `Policy doesn't allow ${policy} to be performed.`);
  }
}

/** Whether a peer address is this machine's loopback (127.0.0.0/8, ::1, or IPv4 mapped in IPv6). */
export function isLoopback(address: string | undefined): boolean {
  if (!address || isIP(address) === 0) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  return v4.startsWith('127.') || address === '::1';
}

/**
 * Who may read the API's `/metrics`: anyone on loopback (a scraper on the API's own machine)
 * without a token, else an admin token (401 without or with an unknown one, 403 for a member's).
 */
export function authorizeMetrics(
  tokens: ApiToken[],
  headers: IncomingHttpHeaders,
  peer: string | undefined,
): void {
  if (isLoopback(peer)) return;
  requireAdmin(authenticate(tokens, headers), 'ferry:metrics');
}
