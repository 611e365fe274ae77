/**
 * Encrypted migration streams on the lab: what a live block migration puts on the hosts' network,
 * captured on the source's bridge port. A guest holds a known text in its memory (the dirtying
 * loop's pattern) and on its disk; migrated with live_migration_with_native_tls the capture holds
 * neither, migrated in clear it holds both. A host without certificates, destination or source, is
 * refused before anything moves.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { bootLabInstance } from '../../lab/fleet';
import { rootNamespacePath } from '../../lab/layout';
import { QEMU_TLS_DIR } from '../../config/migration-tls';
import { ferry } from '../support/ferry-cli';
import { canRunLab } from '../support/lab';
import { useLabStack } from '../support/lab-stack';
import { bytesOfText, captureHostPort } from '../support/wire-capture';

const describeLab = canRunLab ? describe : describe.skip;

/** The guest rewrites DIRTY_MB of memory with its name, one per line (lab/guest-init.ts). */
const GUEST = 'wire-canary';
const MEMORY_TEXT = `${GUEST}\n`;
const DIRTY_MB = 8;
const DISK_TEXT = 'ferry-disk-canary\n';
const DISK_DATA_MB = 16;
const MiB = 1024 * 1024;

describeLab('migration streams on the wire', () => {
  const stack = useLabStack({ name: 'tls' });
  const { domainsOn, diskOn, counting, diskDigest, instance } = stack;

  /** Live-migrates the guest to `destHost` while capturing on `sourceHost`'s port. */
  async function migrateCaptured(sourceHost: string, destHost: string) {
    const capture = await captureHostPort(sourceHost, join(stack.dataDir, `${destHost}.pcap`));
    const started = Date.now();
    const result = await ferry(
      ['live-migrate', GUEST, '--host', destHost, '--wait', '--json'],
      stack.env,
    );
    const seconds = (Date.now() - started) / 1000;
    const { pcap, dropped } = await capture.stop();
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    const state = JSON.parse(result.stdout);
    expect(state).toMatchObject({ status: 'completed', blockMigration: true });
    return {
      seconds,
      memoryProcessed: state.progress?.memoryProcessedBytes,
      captured: pcap.length,
      dropped,
      memory: bytesOfText(pcap, MEMORY_TEXT),
      disk: bytesOfText(pcap, DISK_TEXT),
    };
  }

  it('refuses a host without certificates at either end, then moves the guest encrypted or in clear as set', async () => {
    await bootLabInstance(stack.config, {
      name: GUEST,
      host: 'host1',
      memoryMb: 128,
      dirtyMb: DIRTY_MB,
      diskMb: 64,
      diskDataMb: DISK_DATA_MB,
      diskDataText: DISK_TEXT,
    });
    await counting('host1', GUEST);
    const digest = await diskDigest(diskOn('host1', GUEST));

    // host3 loses its QEMU certificates: TLS is on (host1 has them), so host3 is refused.
    await rm(rootNamespacePath(stack.host('host3').rootPath, QEMU_TLS_DIR), { recursive: true });
    const refused = await ferry(
      ['live-migrate', GUEST, '--host', 'host3', '--wait', '--json'],
      stack.env,
    );
    expect(refused.code).not.toBe(0);
    expect(`${refused.stdout}${refused.stderr}`).toMatch(
      /host3 has no TLS certificates for migration \(missing \/etc\/pki\/qemu\/ca-cert\.pem/,
    );
    expect(await domainsOn('host3')).not.toContain(GUEST);
    expect((await instance(GUEST)).hostName).toBe('host1');
    await counting('host1', GUEST);
    // Nor does host3 send in clear: its agent has TLS on (it started with certificates).
    await bootLabInstance(stack.config, { name: 'stranded', host: 'host3' });
    const stranded = await ferry(
      ['live-migrate', 'stranded', '--host', 'host1', '--wait'],
      stack.env,
    );
    expect(stranded.code).not.toBe(0);
    expect(`${stranded.stdout}${stranded.stderr}`).toMatch(
      /live_migration_with_native_tls is on but host3 has no TLS certificates for migration/,
    );
    expect(await domainsOn('host1')).not.toContain('stranded');
    expect((await instance('stranded')).hostName).toBe('host3');
    await counting('host3', 'stranded');

    const tls = await migrateCaptured('host1', 'host2');
    await counting('host2', GUEST);
    expect(await diskDigest(diskOn('host2', GUEST))).toBe(digest);

    await stack.killAgent('host2');
    await stack.startAgent('host2', { FERRY_LIVE_MIGRATION_WITH_NATIVE_TLS: 'false' });
    const clear = await migrateCaptured('host2', 'host1');
    await counting('host1', GUEST);
    expect(await diskDigest(diskOn('host1', GUEST))).toBe(digest);
    expect((await instance(GUEST)).hostName).toBe('host1');

    process.stderr.write(`migration-tls capture bytes: ${JSON.stringify({ tls, clear })}\n`);
    // Both captures carried the disk's data (more than DISK_DATA_MB) and lost no packet.
    for (const capture of [tls, clear]) {
      expect(capture.captured).toBeGreaterThan(DISK_DATA_MB * MiB);
      expect(capture.dropped).toBe(0);
    }
    expect({ memory: tls.memory, disk: tls.disk }).toEqual({ memory: 0, disk: 0 });
    expect(clear.memory).toBeGreaterThan((DIRTY_MB / 2) * MiB);
    expect(clear.disk).toBeGreaterThan((DISK_DATA_MB / 2) * MiB);
  });
});
