/**
 * The REST API as `ferry api` serves it, in this process: a scratch database (migrated; SQLite
 * unless asked for PostgreSQL), the run's real Temporal server, the API on a free port with an
 * admin and a member token.
 */
import { randomUUID } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { openDatabase, type Database } from '../../db/database';
import { migrateDatabase } from '../../db/migrate';
import { createApiServer, listen } from '../../api/server';
import { loadConfig } from '../../config';
import { createLogger } from '../../config/logging';
import { instanceWorkflowId } from '../../workflows/operation-types';
import { scratchDatabase, type ScratchDatabase } from './databases';

export const ADMIN_TOKEN = 'admin-token-0123456789abcdef';
export const MEMBER_TOKEN = 'member-token-0123456789abcdef';

export interface ApiRequest {
  method?: string;
  path: string;
  /** admin (the default), member, none, or a token of its own. */
  token?: 'admin' | 'member' | 'none' | { raw: string };
  /** The compute microversion asked for with OpenStack-API-Version; none when null. */
  version?: string | null;
  /** A JSON body, or `raw` text sent as it is. */
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
  /** Send the body chunked (no Content-Length). */
  chunked?: boolean;
}

export interface ApiResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body, or the text when it is not JSON, or undefined when empty. */
  body: unknown;
}

export interface ApiHarness {
  db: Database;
  client: Client;
  port: number;
  call(request: ApiRequest): Promise<ApiResponse>;
  /** The run id of the instance's workflow, or null when it has none. */
  workflowRunId(instanceUuid: string): Promise<string | null>;
  /** Terminates the instance's workflow if it still runs (it may have ended by itself). */
  terminate(instanceUuid: string): Promise<void>;
  close(): Promise<void>;
}

function tokenHeader(token: ApiRequest['token']): Record<string, string> {
  if (token === 'none') return {};
  if (typeof token === 'object') return { 'X-Auth-Token': token.raw };
  return { 'X-Auth-Token': token === 'member' ? MEMBER_TOKEN : ADMIN_TOKEN };
}

export async function startApiHarness(
  provider: ScratchDatabase['provider'] = 'sqlite',
): Promise<ApiHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-api-'));
  const scratch: ScratchDatabase = await scratchDatabase(provider);
  await migrateDatabase(scratch.url);
  const config = loadConfig({
    FERRY_DATA_DIR: dir,
    FERRY_DATABASE_URL: scratch.url,
    FERRY_TEMPORAL_ADDRESS: process.env.FERRY_TEST_TEMPORAL_ADDRESS as string,
    FERRY_API_TOKENS: `${ADMIN_TOKEN}:admin,${MEMBER_TOKEN}:member`,
    FERRY_LOG_LEVEL: 'error',
    FERRY_SERVICE_DOWN_TIME: '86400',
    FERRY_LOG_FORMAT: 'json',
  });
  const db = await openDatabase(scratch.url);
  const client = new Client({
    connection: await Connection.connect({ address: config.temporalAddress }),
  });
  const server: Server = createApiServer(config, db, client, createLogger(config, 'api'));
  const port = await listen(server, '127.0.0.1', 0);

  const call = (options: ApiRequest) =>
    new Promise<ApiResponse>((resolve, reject) => {
      const text =
        options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
      const version = options.version === undefined ? '2.79' : options.version;
      const outgoing = httpRequest(
        {
          host: '127.0.0.1',
          port,
          method: options.method ?? 'GET',
          path: options.path,
          headers: {
            ...tokenHeader(options.token),
            ...(version === null ? {} : { 'OpenStack-API-Version': `compute ${version}` }),
            ...(text === undefined
              ? {}
              : {
                  'Content-Type': 'application/json',
                  ...(options.chunked ? {} : { 'Content-Length': Buffer.byteLength(text) }),
                }),
            ...options.headers,
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            const received = Buffer.concat(chunks).toString('utf8');
            let body: unknown = received === '' ? undefined : received;
            try {
              body = JSON.parse(received);
            } catch {
              // not JSON: the text itself
            }
            resolve({ status: response.statusCode as number, headers: response.headers, body });
          });
        },
      );
      outgoing.on('error', reject);
      if (text !== undefined && options.chunked) {
        for (let at = 0; at < text.length; at += 8192) outgoing.write(text.slice(at, at + 8192));
      } else if (text !== undefined) {
        outgoing.write(text);
      }
      outgoing.end();
    });

  const handleOf = (uuid: string) => client.workflow.getHandle(instanceWorkflowId(uuid));
  return {
    db,
    client,
    port,
    call,
    async workflowRunId(uuid) {
      try {
        return (await handleOf(uuid).describe()).runId;
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) return null;
        throw error;
      }
    },
    async terminate(uuid) {
      try {
        await handleOf(uuid).terminate('test over');
      } catch (error) {
        // Closed already: a control worker of another test file may have run it and failed it.
        if (!(error instanceof WorkflowNotFoundError)) throw error;
      }
    },
    async close() {
      await new Promise((resolve) => server.close(resolve));
      await client.connection.close();
      await db.$disconnect();
      await scratch.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A new instance UUID and a name made from it. */
export function newInstanceIds(prefix: string): { uuid: string; name: string } {
  const uuid = randomUUID();
  return { uuid, name: `${prefix}-${uuid.slice(0, 8)}` };
}

/**
 * The fleet both API tests stand on: hosts src and dst (up), off (disabled for maintenance) and
 * gone (down), registered in that order; flavors tiny, small and big, and old (disabled).
 */
export async function seedFleet(db: Database): Promise<void> {
  const hypervisor = {
    libvirtUri: 'test:///default',
    arch: 'x86_64',
    hypervisorType: 'QEMU',
    hypervisorVersion: 8002000,
    cpuModel: 'Haswell',
    vcpusTotal: 8,
    memoryMiBTotal: 8192,
    diskGiBTotal: 100,
  };
  const hosts = [
    { name: 'src', sshAddress: '192.0.2.1' },
    { name: 'dst', sshAddress: '192.0.2.2' },
    { name: 'off', state: 'disabled', disabledReason: 'maintenance' },
    { name: 'gone', forcedDown: true },
  ];
  for (const [day, host] of hosts.entries()) {
    // Registered a day apart, so hypervisor ids (registration order before 2.53) are fixed; each
    // has answered a heartbeat, which the harness's service_down_time keeps up for the whole run.
    await db.host.create({
      data: {
        ...hypervisor,
        ...host,
        createdAt: new Date(Date.UTC(2024, 0, day + 1)),
        lastHeartbeatAt: new Date(),
      },
    });
  }
  await db.flavor.createMany({
    data: [
      { id: 'tiny', name: 'tiny', vcpus: 1, memoryMiB: 128, rootDiskGiB: 1 },
      { id: 'small', name: 'small', vcpus: 2, memoryMiB: 256, rootDiskGiB: 2 },
      { id: 'big', name: 'big', vcpus: 4, memoryMiB: 1024, rootDiskGiB: 10 },
      { id: 'old', name: 'old', vcpus: 1, memoryMiB: 64, rootDiskGiB: 1, disabled: true },
    ],
  });
}

/** Registers an instance (active and running on src, flavor tiny, unless `state` says else). */
export async function addInstance(
  db: Database,
  prefix: string,
  state: Partial<{
    hostName: string;
    flavorId: string;
    vmState: string;
    taskState: string | null;
    powerState: string;
    locked: boolean;
    progress: number;
    createdAt: Date;
  }> = {},
): Promise<{ uuid: string; name: string }> {
  const ids = newInstanceIds(prefix);
  await db.instance.create({ data: { ...ids, hostName: 'src', flavorId: 'tiny', ...state } });
  return ids;
}
