/**
 * A worker's `/metrics` endpoint (the control worker's, a host agent's): GET /metrics on its own
 * port, without a token (it shows counts, never secrets; bind it where only the scraper reaches).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exposition, METRICS_CONTENT_TYPE, type MetricsSource } from './exposition';

export interface MetricsEndpoint {
  port: number;
  close(): Promise<void>;
}

/** Starts the endpoint; rejects when the address cannot be bound. */
export async function serveMetrics(
  host: string,
  port: number,
  source: MetricsSource,
): Promise<MetricsEndpoint> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path !== '/metrics' || !['GET', 'HEAD'].includes(request.method ?? '')) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
      return;
    }
    exposition(source).then(
      (text) => response.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE }).end(text),
      (error: Error) =>
        response.writeHead(500, { 'content-type': 'text/plain' }).end(`${error.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
