/**
 * The text a `/metrics` answers: ferry's registries, then, in a worker, what the Temporal SDK's own
 * Prometheus exporter serves on its loopback port (docs/metrics.md, "One port per process").
 */
import { Registry } from 'prom-client';

export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

export interface MetricsSource {
  registry: Registry;
  /** http://127.0.0.1:PORT/metrics of the Temporal SDK's exporter in this process, if any. */
  temporalUrl?: string;
}

/** The SDK's text; a failure is reported as a comment, so ferry's own figures still answer. */
async function temporalText(url: string): Promise<string> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) return `# Temporal SDK metrics: ${url} answered ${response.status}\n`;
    return await response.text();
  } catch (error) {
    return `# Temporal SDK metrics: ${url}: ${(error as Error).message}\n`;
  }
}

export async function exposition(source: MetricsSource): Promise<string> {
  const own = await source.registry.metrics();
  if (!source.temporalUrl) return own;
  return `${own}\n${await temporalText(source.temporalUrl)}`;
}
