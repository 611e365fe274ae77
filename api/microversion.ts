import type { IncomingHttpHeaders } from 'node:http';
import { ApiError } from './errors';

/** The compute API microversions ferry answers: Nova's 2.1 up to 2.95. */
export const MIN_VERSION = '2.1';
export const MAX_VERSION = '2.95';

/** A compute API microversion, MAJOR.MINOR. */
export class Microversion {
  constructor(
    readonly major: number,
    readonly minor: number,
  ) {}

  static parse(text: string): Microversion | null {
    const match = /^([1-9]\d*)\.(0|[1-9]\d*)$/.exec(text);
    return match ? new Microversion(Number(match[1]), Number(match[2])) : null;
  }

  compare(other: Microversion): number {
    return this.major - other.major || this.minor - other.minor;
  }

  /** True when this version is `version` or later (`version` a literal such as '2.25'). */
  atLeast(version: string): boolean {
    return this.compare(Microversion.parse(version) as Microversion) >= 0;
  }

  toString(): string {
    return `${this.major}.${this.minor}`;
  }
}

const MIN = Microversion.parse(MIN_VERSION) as Microversion;
const MAX = Microversion.parse(MAX_VERSION) as Microversion;

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** The compute entry of `OpenStack-API-Version` ("compute 2.79, volume 3.0"), if any. */
function computeEntry(value: string | undefined): string | undefined {
  for (const entry of value?.split(',') ?? []) {
    const [service, version, ...rest] = entry.trim().split(/\s+/);
    if (service.toLowerCase() === 'compute' && rest.length === 0) return version ?? '';
  }
  return undefined;
}

/**
 * The microversion a request asks for, as Nova negotiates it: `OpenStack-API-Version: compute X`
 * first, then `X-OpenStack-Nova-API-Version: X`, else the minimum; `latest` is the maximum. A
 * malformed version is refused with 400, one out of range with 406.
 */
export function negotiateVersion(headers: IncomingHttpHeaders): Microversion {
  const asked =
    computeEntry(header(headers, 'openstack-api-version')) ??
    header(headers, 'x-openstack-nova-api-version')?.trim();
  if (asked === undefined) return MIN;
  if (asked.toLowerCase() === 'latest') return MAX;
  const version = Microversion.parse(asked);
  if (!version) {
    throw new ApiError(
      400,
      `API Version String ${asked} is of invalid format. Must be of format MajorNum.MinorNum.`,
    );
  }
  if (version.compare(MIN) < 0 || version.compare(MAX) > 0) {
    throw new ApiError(
      406,
      `Version ${version} is not supported by the API. Minimum is ${MIN_VERSION} and maximum is ${MAX_VERSION}.`,
    );
  }
  return version;
}

/** The headers every versioned response carries, naming the version it was answered at. */
export function versionHeaders(version: Microversion): Record<string, string> {
  return {
    'OpenStack-API-Version': `compute ${version}`,
    'X-OpenStack-Nova-API-Version': String(version),
    Vary: 'OpenStack-API-Version, X-OpenStack-Nova-API-Version',
  };
}
