import { createHash } from 'node:crypto';
import { badRequest } from './errors';
import type { RequestContext } from './router';

/** Nova's timestamp in list and migration views: naive UTC with microseconds. */
export function novaTime(date: Date): string {
  return `${date.toISOString().slice(0, 23)}000`;
}

/** Nova's timestamp in server views: ISO 8601 UTC to the second. */
export function isoTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

/**
 * Nova's hostId: SHA-224 of the project id and the host name, '' without a host. ferry has no
 * projects, so the project id is ''.
 */
export function hostId(host: string | null): string {
  return host ? createHash('sha224').update(host).digest('hex') : '';
}

interface Link {
  rel: string;
  href: string;
}

/** A resource's self link (versioned) and bookmark link (unversioned), as Nova gives them. */
export function resourceLinks(
  context: RequestContext,
  collection: string,
  id: string | number,
): Link[] {
  return [
    { rel: 'self', href: `${context.baseUrl}/v2.1/${collection}/${id}` },
    { rel: 'bookmark', href: `${context.baseUrl}/${collection}/${id}` },
  ];
}

/** The most items a list returns at once (Nova's [api] max_limit). */
const MAX_LIMIT = 1000;

function limitParam(query: URLSearchParams): number | null {
  const raw = query.get('limit');
  if (raw === null) return null;
  if (!/^\d+$/.test(raw)) {
    throw badRequest(
      `Invalid input for query parameters limit. Value: ${raw}. It must be a non-negative integer.`,
    );
  }
  return Math.min(Number(raw), MAX_LIMIT);
}

/** The options of one page: how an unknown marker is refused, and which items the page keeps. */
interface PageOptions<T> {
  /** The message of the 400 for a marker that names no item. */
  unknownMarker?: (marker: string) => string;
  /**
   * The items a filter keeps. The marker is looked up among all `items` (as Nova looks it up among
   * all of the collection's rows), the page is made of the kept ones after it.
   */
  keep?: (item: T) => boolean;
}

/**
 * One page of `items` by Nova's `limit` and `marker` query parameters: the items after the one
 * whose id is `marker` (400 when none is), at most `limit`. The next-page link is given (as
 * `<collection>_links`, or `links` where Nova names it so) when more items follow.
 */
export function paginate<T>(
  context: RequestContext,
  collection: string,
  items: T[],
  idOf: (item: T) => string,
  options: PageOptions<T> = {},
): { page: T[]; links: Link[] } {
  const limit = limitParam(context.query) ?? MAX_LIMIT;
  const marker = context.query.get('marker');
  let start = 0;
  if (marker !== null) {
    const at = items.findIndex((item) => idOf(item) === marker);
    if (at < 0) {
      throw badRequest(options.unknownMarker?.(marker) ?? `marker [${marker}] not found`);
    }
    start = at + 1;
  }
  const rest = options.keep ? items.slice(start).filter(options.keep) : items.slice(start);
  const page = rest.slice(0, limit);
  if (page.length === 0 || rest.length <= limit) return { page, links: [] };
  const next = new URLSearchParams(context.query);
  next.set('limit', String(limit));
  next.set('marker', idOf(page[page.length - 1]));
  return {
    page,
    links: [{ rel: 'next', href: `${context.baseUrl}/v2.1/${collection}?${next}` }],
  };
}

/**
 * A changes-since or changes-before filter: an ISO 8601 time, 400 otherwise. A time without a
 * zone is UTC, as Nova reads it (and as its views print times).
 */
export function timeFilter(query: URLSearchParams, name: string): Date | undefined {
  const raw = query.get(name);
  if (raw === null) return undefined;
  const clock = raw.split(/[T ]/, 2)[1];
  const zoned = clock === undefined || /(Z|[+-]\d\d(:?\d\d)?)$/i.test(clock);
  const time = new Date(zoned ? raw : `${raw}Z`);
  if (!/^\d{4}-\d\d-\d\d/.test(raw) || Number.isNaN(time.getTime())) {
    throw badRequest(
      `Invalid input for query parameters ${name}. Value: ${raw}. It is not an ISO 8601 time.`,
    );
  }
  return time;
}

/** Nova's refusal of a changes-before earlier than changes-since. */
export function checkTimeWindow(since: Date | undefined, before: Date | undefined): void {
  if (since && before && before < since) {
    throw badRequest('The value of changes-since must be less than or equal to changes-before.');
  }
}
