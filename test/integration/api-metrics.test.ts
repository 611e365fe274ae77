/**
 * The API's `/metrics`: a scraper on the API's own machine needs no token, one elsewhere an admin
 * token. "Elsewhere" is this machine reached on one of its non-loopback addresses, so the API sees
 * a peer that is not loopback, over real HTTP.
 */
import { networkInterfaces } from 'node:os';
import type { Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { createApiServer, listen } from '../../api/server';
import { openDatabase, type Database } from '../../db/database';
import { migrateDatabase } from '../../db/migrate';
import { loadConfig } from '../../config';
import { createLogger } from '../../config/logging';
import { scratchDatabase, type ScratchDatabase } from '../support/databases';
import { parseSamples, scrape, valueOf } from '../support/metrics-text';

const ADMIN = 'admin-token-0123456789abcdef';
const MEMBER = 'member-token-0123456789abcdef';

/** An IPv4 address of this machine that is not loopback. */
function outsideAddress(): string {
  const address = Object.values(networkInterfaces())
    .flat()
    .find((info) => info && info.family === 'IPv4' && !info.internal)?.address;
  if (!address) throw new Error('this test needs a non-loopback IPv4 address on this machine');
  return address;
}

describe("the API's /metrics", () => {
  let dir: string;
  let scratch: ScratchDatabase;
  let db: Database;
  let client: Client;
  let server: Server;
  let port: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-api-metrics-'));
    scratch = await scratchDatabase('sqlite');
    await migrateDatabase(scratch.url);
    const config = loadConfig({
      FERRY_DATA_DIR: dir,
      FERRY_DATABASE_URL: scratch.url,
      FERRY_API_TOKENS: `${ADMIN}:admin,${MEMBER}:member`,
      FERRY_LOG_LEVEL: 'error',
      FERRY_LOG_FORMAT: 'json',
    });
    db = await openDatabase(scratch.url);
    // /metrics never calls Temporal: a lazy connection that is never used.
    client = new Client({ connection: Connection.lazy({ address: config.temporalAddress }) });
    server = createApiServer(config, db, client, createLogger(config, 'api'));
    port = await listen(server, '0.0.0.0', 0);
  });

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await client?.connection.close();
    await db?.$disconnect();
    await scratch?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers a scraper on loopback without a token, in Prometheus text format', async () => {
    const { status, contentType, text } = await scrape('127.0.0.1', port);
    expect({ status, contentType }).toEqual({
      status: 200,
      contentType: 'text/plain; version=0.0.4; charset=utf-8',
    });
    expect(text).toContain('# TYPE ferry_migrations_total counter');
    expect(text).toContain('# TYPE ferry_migration_duration_seconds histogram');
    const samples = parseSamples(text);
    expect(valueOf(samples, 'ferry_migrations_in_progress', { type: 'live-migration' })).toBe(0);
    expect(samples.has('ferry_live_migration_downtime_milliseconds_count')).toBe(true);
    expect(samples.has('process_cpu_user_seconds_total')).toBe(true);
  });

  it('wants an admin token from anywhere else: 401 without one, 403 for a member', async () => {
    const address = outsideAddress();
    const none = await scrape(address, port);
    expect(none.status).toBe(401);
    expect(JSON.parse(none.text)).toEqual({
      unauthorized: {
        code: 401,
        message: 'The request you have made requires authentication: send X-Auth-Token.',
      },
    });
    const member = await scrape(address, port, { 'X-Auth-Token': MEMBER });
    expect(member.status).toBe(403);
    expect(JSON.parse(member.text)).toEqual({
      forbidden: { code: 403, message: "Policy doesn't allow ferry:metrics to be performed." },
    });
    const admin = await scrape(address, port, { 'X-Auth-Token': ADMIN });
    expect(admin.status).toBe(200);
    expect(admin.text).toContain('ferry_migrations_in_progress{type="live-migration"} 0');
  });
});
