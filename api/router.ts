import type { Client } from '@temporalio/client';
import type { Database } from '../db/database';
import type { FerryConfig } from '../config';
import type { Caller } from './auth';
import { ApiError, NO_RESOURCE } from './errors';
import type { Microversion } from './microversion';

/** What every resource module needs. */
export interface ApiDeps {
  config: FerryConfig;
  db: Database;
  client: Client;
}

/** One request, authenticated and negotiated, as a route's handler sees it. */
export interface RequestContext {
  /** The path's parameters, by the names the route's pattern gives them (`:id` → id). */
  params: Record<string, string>;
  query: URLSearchParams;
  version: Microversion;
  caller: Caller;
  /** scheme://host[:port] the client reached the API at, for links. */
  baseUrl: string;
  /** The JSON body (size, media type and syntax checked). */
  body(): Promise<unknown>;
}

/** A response: its status and JSON body (none for 202 and 204). */
export interface Reply {
  status: number;
  body?: unknown;
}

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Below /v2.1, with `:name` segments for parameters, e.g. /servers/:id/action. */
  path: string;
  /** The first microversion that has this route (Nova answers 404 below it). */
  since?: string;
  handle(context: RequestContext): Promise<Reply>;
}

/** A percent-decoded path segment; null when its escapes are malformed. */
function decoded(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

function match(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    if (want[i].startsWith(':')) {
      const value = decoded(got[i]);
      if (value === null || value === '') return null;
      params[want[i].slice(1)] = value;
    } else if (want[i] !== got[i]) {
      return null;
    }
  }
  return params;
}

/**
 * The route for a method and path (relative to /v2.1), the first of `routes` in order whose
 * pattern fits (so literal paths go before parameters); 404 when no pattern fits or the route is
 * newer than the request's microversion, 405 (with Allow) when only other methods do.
 */
export function findRoute(
  routes: Route[],
  method: string,
  path: string,
  version: Microversion,
): { route: Route; params: Record<string, string> } {
  const fitting = routes
    .map((route) => ({ route, params: match(route.path, path) }))
    .filter((found): found is { route: Route; params: Record<string, string> } => !!found.params);
  if (fitting.length === 0) throw new ApiError(404, NO_RESOURCE);
  const found = fitting.find(({ route }) => route.method === method);
  if (!found) {
    const allowed = [...new Set(fitting.map(({ route }) => route.method))].join(', ');
    throw new ApiError(405, 'The method specified is not allowed for this resource.', {
      Allow: allowed,
    });
  }
  if (found.route.since && !version.atLeast(found.route.since)) {
    throw new ApiError(
      404,
      `${NO_RESOURCE} ${method} ${path} needs microversion ${found.route.since} or later.`,
    );
  }
  return found;
}
