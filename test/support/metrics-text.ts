/**
 * Reads Prometheus' text format as a scraper does: each sample line's value by its metric name and
 * labels, so a test asks for `ferry_migrations_total{status="completed",type="live-migration"}`.
 */
import { request } from 'node:http';

export type Samples = Map<string, number>;

/** `name{a="x",b="y"}` with the labels sorted by name, as samples are keyed. */
export function series(name: string, labels: Record<string, string> = {}): string {
  const pairs = Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([label, value]) => `${label}="${value}"`);
  return pairs.length === 0 ? name : `${name}{${pairs.join(',')}}`;
}

/** Every sample of an exposition; throws on a line that is neither a comment nor a sample. */
export function parseSamples(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [
        m[1],
        m[2],
      ]),
    );
    samples.set(series(match[1], labels), Number(match[3]));
  }
  return samples;
}

/** A sample's value; 0 when the exposition has no such series (a counter never incremented). */
export function valueOf(
  samples: Samples,
  name: string,
  labels: Record<string, string> = {},
): number {
  return samples.get(series(name, labels)) ?? 0;
}

/** GET http://host:port/metrics: its status, content type and text. */
export function scrape(
  host: string,
  port: number,
  headers: Record<string, string> = {},
): Promise<{ status: number; contentType: string | undefined; text: string }> {
  return new Promise((resolve, reject) => {
    // agent: false, so no kept-alive socket outlives the scrape.
    const outgoing = request(
      { host, port, path: '/metrics', headers, agent: false },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode as number,
            contentType: response.headers['content-type'],
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    outgoing.on('error', reject);
    outgoing.end();
  });
}
