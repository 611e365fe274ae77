/**
 * QEMU's TLS credentials for migration streams (VIR_MIGRATE_TLS), in the directory libvirt's
 * qemu.conf reads by default (default_tls_x509_cert_dir). The source's QEMU connects as a TLS
 * client, the destination's listens as a TLS server; both check the peer against the CA
 * (docs/live-migration.md, "Encrypted streams").
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const QEMU_TLS_DIR = '/etc/pki/qemu';

export type MigrationTlsRole = 'source' | 'destination';

const ROLE_FILES: Record<MigrationTlsRole, readonly string[]> = {
  source: ['ca-cert.pem', 'client-cert.pem', 'client-key.pem'],
  destination: ['ca-cert.pem', 'server-cert.pem', 'server-key.pem'],
};

/** The credential files a host lacks for its role in a TLS migration (paths; none = ready). */
export function missingTlsFiles(role: MigrationTlsRole, dir = QEMU_TLS_DIR): string[] {
  return ROLE_FILES[role].map((file) => join(dir, file)).filter((path) => !existsSync(path));
}

/** Whether this host can take either end of a TLS migration. */
export function hasMigrationTlsCertificates(dir = QEMU_TLS_DIR): boolean {
  return missingTlsFiles('source', dir).length + missingTlsFiles('destination', dir).length === 0;
}
