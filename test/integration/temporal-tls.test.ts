/**
 * TLS to Temporal: a production-style temporal-server (PostgreSQL persistence) whose frontend
 * requires mutual TLS, with certificates made here by openssl. ferry's API and control worker
 * reach it with the FERRY_TEMPORAL_TLS_* settings, and not without them.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { projectRoot } from '../../config/project-root';
import {
  startProductionTemporal,
  temporalServerPorts,
  type RunningTemporalServer,
} from '../support/temporal-server';
import { temporalTls } from '../../temporal/tls';
import { CONTROL_TASK_QUEUE } from '../../workflows/task-queues';
import {
  dropDatabase,
  POSTGRES_ADMIN_URL,
  scratchDatabase,
  type ScratchDatabase,
} from '../support/databases';
import { freePort } from '../support/free-port';

const canRun = process.getuid?.() === 0;
const describeTls = canRun ? describe : describe.skip;

const openssl = (args: string[], cwd: string) => promisify(execFile)('openssl', args, { cwd });

/** A CA, a frontend pair for localhost and 127.0.0.1, and a client pair, signed by the CA. */
async function makeCertificates(dir: string): Promise<void> {
  const subject = (name: string) => ['-nodes', '-subj', `/CN=${name}`, '-newkey', 'rsa:2048'];
  await openssl(
    [
      'req',
      '-x509',
      ...subject('ferry test CA'),
      '-days',
      '2',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
    ],
    dir,
  );
  const extensions = {
    server: 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n',
    client: 'extendedKeyUsage=clientAuth\n',
  };
  for (const [name, extension] of Object.entries(extensions)) {
    writeFileSync(join(dir, `${name}.ext`), extension);
    await openssl(['req', ...subject(name), '-keyout', `${name}.key`, '-out', `${name}.csr`], dir);
    await openssl(
      ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key'].concat([
        '-CAcreateserial',
        '-days',
        '2',
        '-out',
        `${name}.pem`,
        '-extfile',
        `${name}.ext`,
      ]),
      dir,
    );
  }
}

describeTls('TLS to Temporal', () => {
  let dir: string;
  let server: RunningTemporalServer;
  let database: ScratchDatabase;
  let databases: string[] = [];
  const children: ChildProcess[] = [];

  const tlsEnv = () => ({
    FERRY_TEMPORAL_TLS_CA: join(dir, 'ca.pem'),
    FERRY_TEMPORAL_TLS_CERT: join(dir, 'client.pem'),
    FERRY_TEMPORAL_TLS_KEY: join(dir, 'client.key'),
    FERRY_TEMPORAL_TLS_SERVER_NAME: 'localhost',
  });

  const startFerry = (args: string[], env: Record<string, string>, logName: string) => {
    const log = openSync(join(dir, logName), 'a');
    const child = spawn(
      process.execPath,
      [join(projectRoot(), 'dist', 'cli', 'main.js'), ...args],
      {
        env: {
          ...process.env,
          FERRY_TEMPORAL_ADDRESS: server.address,
          FERRY_DATABASE_URL: database.url,
          FERRY_LOG_FORMAT: 'json',
          ...env,
        },
        stdio: ['ignore', log, log],
      },
    );
    children.push(child);
    return child;
  };

  const health = async (port: number) => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const response = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined);
      if (response) return { status: response.status, body: await response.json() };
      if (Date.now() > deadline) throw new Error(`no API on :${port} within 60 s`);
      await sleep(250);
    }
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-test-tls-'));
    await makeCertificates(dir);
    database = await scratchDatabase('postgresql');
    const prefix = `ferry_test_tls_${randomBytes(4).toString('hex')}`;
    databases = [prefix, `${prefix}_visibility`];
    const ports = await temporalServerPorts();
    const postgres = new URL(POSTGRES_ADMIN_URL);
    postgres.pathname = '';
    server = await startProductionTemporal({
      dir,
      postgresUrl: postgres.toString(),
      databasePrefix: prefix,
      ports,
      namespace: 'default',
      tls: {
        caFile: join(dir, 'ca.pem'),
        serverCertFile: join(dir, 'server.pem'),
        serverKeyFile: join(dir, 'server.key'),
        clientCertFile: join(dir, 'client.pem'),
        clientKeyFile: join(dir, 'client.key'),
        serverName: 'localhost',
      },
    });
  }, 180_000);

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await server?.stop();
    for (const name of databases) await dropDatabase(name);
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("ferry's API reaches Temporal with the TLS settings, and reports it unreachable without", async () => {
    const [withTls, withoutTls] = [await freePort(), await freePort()];
    startFerry(['api'], { ...tlsEnv(), FERRY_API_PORT: String(withTls) }, 'api-tls.log');
    startFerry(['api'], { FERRY_API_PORT: String(withoutTls) }, 'api-plain.log');
    expect(await health(withTls)).toMatchObject({
      status: 200,
      body: { temporal: { ok: true } },
    });
    expect(await health(withoutTls)).toMatchObject({
      status: 503,
      body: { temporal: { ok: false }, database: { ok: true } },
    });
  });

  it('the control worker polls its task queue over mutual TLS', async () => {
    startFerry(['control'], tlsEnv(), 'control.log');
    const connection = await Connection.connect({
      address: server.address,
      tls: temporalTls({
        temporalTlsCaFile: join(dir, 'ca.pem'),
        temporalTlsCertFile: join(dir, 'client.pem'),
        temporalTlsKeyFile: join(dir, 'client.key'),
        temporalTlsServerName: 'localhost',
      }),
    });
    try {
      const deadline = Date.now() + 90_000;
      let pollers = 0;
      while (pollers === 0 && Date.now() < deadline) {
        const described = await connection.workflowService.describeTaskQueue({
          namespace: 'default',
          taskQueue: { name: CONTROL_TASK_QUEUE },
          taskQueueType: 1,
        });
        pollers = described.pollers?.length ?? 0;
        if (pollers === 0) await sleep(1000);
      }
      const log = readFileSync(join(dir, 'control.log'), 'utf8');
      expect({ pollers: pollers > 0, running: log.includes('control worker running') }).toEqual({
        pollers: true,
        running: true,
      });
    } finally {
      await connection.close();
    }
  });

  it('a client without a certificate is turned away by the frontend', async () => {
    const tls = {
      serverRootCACertificate: readFileSync(join(dir, 'ca.pem')),
      serverNameOverride: 'localhost',
    };
    await expect(
      Connection.connect({ address: server.address, connectTimeout: '3s', tls }),
    ).rejects.toThrow();
  });
});
