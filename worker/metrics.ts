/**
 * A worker process's metrics: the Temporal Runtime, installed with the SDK's Prometheus exporter on
 * a free loopback port, and ferry's `/metrics` on the configured port answering ferry's figures
 * followed by the SDK's (docs/metrics.md, "One port per process").
 */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { installTemporalRuntime, type Logger } from '../config/logging';
import { serveMetrics, type MetricsEndpoint } from '../metrics/endpoint';

/** A loopback port nothing listens on now, for the SDK's exporter. */
async function freeLoopbackPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/**
 * Installs the Temporal Runtime and, unless `port` is 0, serves `/metrics` on host:port. The
 * endpoint is not worth stopping migrations for: an address that cannot be bound is logged as an
 * error and the worker runs without it (null).
 */
export async function startWorkerMetrics(
  logger: Logger,
  endpoint: { host: string; port: number; registry: Registry },
): Promise<MetricsEndpoint | null> {
  if (endpoint.port === 0) {
    installTemporalRuntime(logger);
    return null;
  }
  const temporalAddress = `127.0.0.1:${await freeLoopbackPort()}`;
  let temporalUrl: string | undefined = `http://${temporalAddress}/metrics`;
  try {
    installTemporalRuntime(logger, temporalAddress);
  } catch (error) {
    logger.error(
      { err: error, address: temporalAddress },
      "the Temporal SDK's metrics exporter did not start; /metrics serves ferry's figures only",
    );
    installTemporalRuntime(logger);
    temporalUrl = undefined;
  }
  try {
    const served = await serveMetrics(endpoint.host, endpoint.port, {
      registry: endpoint.registry,
      temporalUrl,
    });
    logger.info({ url: `http://${endpoint.host}:${served.port}/metrics` }, 'metrics endpoint');
    return served;
  } catch (error) {
    logger.error(
      { err: error, host: endpoint.host, port: endpoint.port },
      'the metrics endpoint could not bind; running without it',
    );
    return null;
  }
}
