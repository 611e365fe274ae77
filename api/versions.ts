import { MAX_VERSION, MIN_VERSION } from './microversion';

/** When Nova's v2.1 API was introduced, as its version documents say. */
const UPDATED = '2013-07-23T11:33:21Z';

const V2_1 = {
  id: 'v2.1',
  status: 'CURRENT',
  version: MAX_VERSION,
  min_version: MIN_VERSION,
  updated: UPDATED,
};

/** `GET /`: the API versions this endpoint serves (v2.1 only; ferry has no v2.0). */
export function versionsDocument(baseUrl: string) {
  return {
    versions: [{ ...V2_1, links: [{ rel: 'self', href: `${baseUrl}/v2.1/` }] }],
  };
}

/** `GET /v2.1`: the v2.1 version document, with its microversion range and media type. */
export function versionDocument(baseUrl: string) {
  return {
    version: {
      ...V2_1,
      links: [
        { rel: 'self', href: `${baseUrl}/v2.1/` },
        { rel: 'describedby', type: 'text/html', href: 'https://docs.openstack.org/' },
      ],
      'media-types': [
        { base: 'application/json', type: 'application/vnd.openstack.compute+json;version=2.1' },
      ],
    },
  };
}
