import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import { Registry } from 'prom-client';
import type { Database } from '../db/database';
import { exposition, METRICS_CONTENT_TYPE } from '../metrics/exposition';
import { fleetRegistry } from '../metrics/fleet';
import { processRegistry } from '../metrics/process';
import { temporalAnswers } from '../temporal/dev-server';
import { temporalTls } from '../temporal/tls';
import type { FerryConfig } from '../config';
import type { Logger } from '../config/logging';
import { authenticate, authorizeMetrics } from './auth';
import { readJsonBody } from './body';
import { drainRoutes } from './drains';
import { ApiError, NO_RESOURCE, temporalUnavailable } from './errors';
import { flavorRoutes } from './flavors';
import { hypervisorRoutes } from './hypervisors';
import { instanceActionRoutes } from './instance-actions';
import { negotiateVersion, versionHeaders } from './microversion';
import { migrationRoutes } from './migrations';
import { serviceRoutes } from './services';
import { findRoute, type ApiDeps, type Reply, type Route } from './router';
import { serverActionRoutes } from './server-actions';
import { serverMigrationRoutes } from './server-migrations';
import { serverRoutes } from './servers';
import { versionDocument, versionsDocument } from './versions';
import { WorkflowUpdates } from './workflow-updates';

export interface HealthReport {
  status: 'ok' | 'degraded';
  temporal: { ok: boolean; address: string };
  database: { ok: boolean; error?: string };
}

async function databaseAnswers(db: Database): Promise<{ ok: boolean; error?: string }> {
  try {
    await db.$queryRawUnsafe('SELECT 1');
    return { ok: true };
  } catch (error) {
    return { ok: false, error: (error as Error).message.split('\n')[0] };
  }
}

/** Whether the stack ferry depends on answers: Temporal's frontend and the database. */
export async function checkHealth(config: FerryConfig, db: Database): Promise<HealthReport> {
  const [temporal, database] = await Promise.all([
    temporalAnswers(config.temporalAddress, 2000, temporalTls(config)),
    databaseAnswers(db),
  ]);
  return {
    status: temporal && database.ok ? 'ok' : 'degraded',
    temporal: { ok: temporal, address: config.temporalAddress },
    database,
  };
}

function send(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string>,
): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  response.writeHead(status, {
    ...headers,
    ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

/** scheme://host:port as the client reached the API (its Host header when that is sane). */
function baseUrl(config: FerryConfig, request: IncomingMessage): string {
  const host = request.headers.host;
  return `http://${host && /^[A-Za-z0-9.\-[\]:]+$/.test(host) ? host : `${config.apiHost}:${config.apiPort}`}`;
}

/**
 * Answers one request for `/`, `/v2.1` or below; refusals are thrown as ApiError. Adds the
 * negotiated microversion's headers to `headers` (errors after the negotiation carry them too).
 */
/** Where ferry's own extension (host drains) lives, beside Nova's /v2.1. */
const FERRY_PREFIX = '/ferry/v1';

async function answer(
  config: FerryConfig,
  routes: { nova: Route[]; ferry: Route[] },
  request: IncomingMessage,
  headers: Record<string, string>,
): Promise<Reply> {
  const [rawPath, rawQuery = ''] = (request.url ?? '/').split('?', 2);
  const path = rawPath.length > 1 ? rawPath.replace(/\/+$/, '') : rawPath;
  const method = request.method ?? 'GET';
  const base = baseUrl(config, request);
  if (path.startsWith(`${FERRY_PREFIX}/`)) {
    // ferry's own extension: no microversions, the same tokens and error bodies as Nova's part.
    const version = negotiateVersion({});
    const caller = authenticate(config.apiTokens, request.headers);
    const found = findRoute(routes.ferry, method, path.slice(FERRY_PREFIX.length), version);
    return found.route.handle({
      params: found.params,
      query: new URLSearchParams(rawQuery),
      version,
      caller,
      baseUrl: base,
      body: () => readJsonBody(request),
    });
  }
  if (path === '/' || path === '/v2.1') {
    if (method !== 'GET') {
      throw new ApiError(405, 'The method specified is not allowed for this resource.', {
        Allow: 'GET',
      });
    }
    if (path === '/') return { status: 200, body: versionsDocument(base) };
  }
  if (path !== '/v2.1' && !path.startsWith('/v2.1/')) throw new ApiError(404, NO_RESOURCE);
  const version = negotiateVersion(request.headers);
  Object.assign(headers, versionHeaders(version));
  if (path === '/v2.1') return { status: 200, body: versionDocument(base) };
  const caller = authenticate(config.apiTokens, request.headers);
  const { route, params } = findRoute(routes.nova, method, path.slice('/v2.1'.length), version);
  return route.handle({
    params,
    query: new URLSearchParams(rawQuery),
    version,
    caller,
    baseUrl: base,
    body: () => readJsonBody(request),
  });
}

/** Answers `GET /metrics` (docs/metrics.md): loopback without a token, else an admin's. */
async function answerMetrics(
  config: FerryConfig,
  registry: Registry,
  request: IncomingMessage,
): Promise<string> {
  authorizeMetrics(config.apiTokens, request.headers, request.socket.remoteAddress);
  return exposition({ registry });
}

/**
 * ferry's REST API: Nova's compute API for what ferry does (README, "The REST API"),
 * `GET /health`, 200 when Temporal and the database answer, 503 (with the same JSON body saying
 * which does not) otherwise, and `GET /metrics`, the fleet's figures in Prometheus' text format.
 */
export function createApiServer(
  config: FerryConfig,
  db: Database,
  client: Client,
  logger: Logger,
): Server {
  const deps: ApiDeps = { config, db, client };
  const updates = new WorkflowUpdates(client);
  const routes = {
    nova: [
      ...serverRoutes(deps),
      ...serverActionRoutes(deps, updates),
      ...serverMigrationRoutes(deps, updates),
      ...instanceActionRoutes(deps),
      ...flavorRoutes(deps),
      ...hypervisorRoutes(deps),
      ...migrationRoutes(deps),
      ...serviceRoutes(deps),
    ],
    ferry: drainRoutes(deps),
  };
  const metrics = Registry.merge([fleetRegistry(db), processRegistry]);
  return createServer((request: IncomingMessage, response: ServerResponse) => {
    const started = Date.now();
    const requestId = `req-${randomUUID()}`;
    const headers: Record<string, string> = {
      'x-openstack-request-id': requestId,
      'x-compute-request-id': requestId,
    };
    response.on('finish', () =>
      logger.info(
        {
          requestId,
          method: request.method,
          url: request.url,
          status: response.statusCode,
          ms: Date.now() - started,
        },
        'request',
      ),
    );
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/health' && (request.method === 'GET' || request.method === 'HEAD')) {
      checkHealth(config, db).then(
        (report) => send(response, report.status === 'ok' ? 200 : 503, report, headers),
        (error: Error) => send(response, 500, { status: 'error', message: error.message }, headers),
      );
      return;
    }
    const metricsRequest =
      path === '/metrics' && (request.method === 'GET' || request.method === 'HEAD');
    const replied = metricsRequest
      ? answerMetrics(config, metrics, request).then((text) => {
          response.writeHead(200, { ...headers, 'content-type': METRICS_CONTENT_TYPE });
          response.end(text);
        })
      : answer(config, routes, request, headers).then((reply) =>
          send(response, reply.status, reply.body, headers),
        );
    replied.then(
      () => undefined,
      (error: unknown) => {
        const refusal =
          error instanceof ApiError ? error : temporalUnavailable(error, config.temporalAddress);
        if (refusal) {
          send(response, refusal.status, refusal.body(), { ...headers, ...refusal.headers });
          return;
        }
        logger.error({ requestId, err: error }, 'request failed');
        const fault = new ApiError(
          500,
          'The server has either erred or is incapable of performing the requested operation.',
        );
        send(response, 500, fault.body(), headers);
      },
    );
  });
}

/** Starts the API and resolves once it listens; returns the bound port. */
export async function listen(server: Server, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}
