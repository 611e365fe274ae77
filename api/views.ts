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

/**
 * One page of `items` by Nova's `limit` and `marker` query parameters: the items after the one
 * whose id is `marker` (400 when none is), at most `limit`. The next-page link is given (as
 * `<collection>_links`) when more items follow.
 */
export function paginate<T>(
  context: RequestContext,
  collection: string,
  items: T[],
  idOf: (item: T) => string,
): { page: T[]; links: Link[] } {
  const limit = limitParam(context.query) ?? MAX_LIMIT;
  const marker = context.query.get('marker');
  let start = 0;
  if (marker !== null) {
    const at = items.findIndex((item) => idOf(item) === marker);
    if (at < 0) throw badRequest(`marker [${marker}] not found`);
    start = at + 1;
  }
  const page = items.slice(start, start + limit);
  if (page.length === 0 || start + limit >= items.length) return { page, links: [] };
  const next = new URLSearchParams(context.query);
  next.set('limit', String(limit));
  next.set('marker', idOf(page[page.length - 1]));
  return {
    page,
    links: [{ rel: 'next', href: `${context.baseUrl}/v2.1/${collection}?${next}` }],
  };
}
