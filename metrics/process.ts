/**
 * The figures of the process itself (process_*, nodejs_*: CPU, memory, event loop), in every ferry
 * process that serves `/metrics`. Per process: they restart with it (docs/metrics.md).
 */
import { collectDefaultMetrics, Registry } from 'prom-client';

export const processRegistry = new Registry();
collectDefaultMetrics({ register: processRegistry });
