import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasMigrationTlsCertificates, missingTlsFiles } from '../../config/migration-tls';

describe("a host's QEMU TLS credentials for migration", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-qemu-tls-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const put = (...files: string[]) => files.forEach((file) => writeFileSync(join(dir, file), ''));

  it('with none, lacks every file of either role', () => {
    expect(missingTlsFiles('source', dir).map((path) => path.slice(dir.length + 1))).toEqual([
      'ca-cert.pem',
      'client-cert.pem',
      'client-key.pem',
    ]);
    expect(missingTlsFiles('destination', dir).map((path) => path.slice(dir.length + 1))).toEqual([
      'ca-cert.pem',
      'server-cert.pem',
      'server-key.pem',
    ]);
    expect(hasMigrationTlsCertificates(dir)).toBe(false);
  });

  it('with only the client side, can be a source but not a destination', () => {
    put('ca-cert.pem', 'client-cert.pem', 'client-key.pem');
    expect(missingTlsFiles('source', dir)).toEqual([]);
    expect(missingTlsFiles('destination', dir)).toEqual([
      join(dir, 'server-cert.pem'),
      join(dir, 'server-key.pem'),
    ]);
    expect(hasMigrationTlsCertificates(dir)).toBe(false);
  });

  it('with both sides, has certificates: TLS is on by default', () => {
    put('ca-cert.pem', 'client-cert.pem', 'client-key.pem', 'server-cert.pem', 'server-key.pem');
    expect(hasMigrationTlsCertificates(dir)).toBe(true);
  });
});
