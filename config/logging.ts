import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import { Runtime } from '@temporalio/worker';
import pino, { type Logger } from 'pino';
import type { FerryConfig } from '.';

export type { Logger } from 'pino';

/**
 * ferry's one logger: JSON lines by default, pretty when writing to a terminal. Every line of an
 * operation carries `instance`, `migration` and `workflowId` (see operationFields).
 */
export function createLogger(
  config: Pick<FerryConfig, 'logLevel' | 'logFormat'>,
  process_: string,
): Logger {
  const pretty =
    config.logFormat === 'pretty' || (config.logFormat === 'auto' && process.stdout.isTTY === true);
  return pino({
    level: config.logLevel,
    base: { process: process_, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    transport: pretty
      ? {
          target: 'pino-pretty',
          options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
        }
      : undefined,
  });
}

const PINO_LEVEL: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/** Passes the Temporal SDK's log lines (workflow, activity and worker loggers) to pino. */
export class TemporalPinoLogger implements TemporalLogger {
  constructor(private readonly logger: Logger) {}

  log(level: LogLevel, message: string, meta?: LogMetadata): void {
    // The workflow bundler reports webpack's whole module listing at INFO.
    const pinoLevel = message.startsWith('asset workflow-bundle') ? 'debug' : PINO_LEVEL[level];
    this.logger[pinoLevel](meta ?? {}, message);
  }
  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
}

/**
 * Installs the Temporal Runtime (once per process, before any worker): its logger (and the core's
 * forwarded logs) go into ferry's logger, and with `prometheusAddress` (HOST:PORT) the SDK serves
 * its own worker metrics there (docs/metrics.md).
 */
export function installTemporalRuntime(logger: Logger, prometheusAddress?: string): void {
  Runtime.install({
    logger: new TemporalPinoLogger(logger.child({ component: 'temporal' })),
    telemetryOptions: {
      logging: { filter: { core: 'WARN', other: 'WARN' }, forward: {} },
      ...(prometheusAddress ? { metrics: { prometheus: { bindAddress: prometheusAddress } } } : {}),
    },
  });
}
