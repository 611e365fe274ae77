/**
 * TLS trust between lab hosts: a CA of the lab's own (its key stays in the state dir, never in a
 * host) signs one certificate per host, naming the host and its address, good as server and as
 * client. Each host gets it in libvirt's standard layout, for libvirtd's qemu+tls:// listener and
 * its peer connections, and in QEMU's, for migration streams (docs/lab.md, "TLS").
 */
import { chmod, copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './command';
import { rootNamespacePath } from './layout';

export interface LabCa {
  dir: string;
  certFile: string;
  keyFile: string;
}

const DAYS = '3650';

/** Where a host keeps its credentials, as the host sees them. */
const IN_HOST = {
  libvirtCa: '/etc/pki/CA/cacert.pem',
  libvirtServerCert: '/etc/pki/libvirt/servercert.pem',
  libvirtServerKey: '/etc/pki/libvirt/private/serverkey.pem',
  libvirtClientCert: '/etc/pki/libvirt/clientcert.pem',
  libvirtClientKey: '/etc/pki/libvirt/private/clientkey.pem',
  qemuDir: '/etc/pki/qemu',
};

export function labCaDir(stateDir: string): string {
  return join(stateDir, 'ca');
}

/** Makes a fresh CA in the state dir. */
export async function createLabCa(stateDir: string): Promise<LabCa> {
  const dir = labCaDir(stateDir);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const ca = { dir, certFile: join(dir, 'ca-cert.pem'), keyFile: join(dir, 'ca-key.pem') };
  await run('openssl', [
    ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', DAYS],
    ...['-keyout', ca.keyFile, '-out', ca.certFile, '-subj', '/O=ferry lab/CN=ferry lab CA'],
    ...['-addext', 'basicConstraints=critical,CA:TRUE'],
    ...['-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
  ]);
  return ca;
}

/** Issues `name`'s certificate and installs it, with the CA's, in the host's /etc/pki. */
export async function installHostCertificates(
  ca: LabCa,
  host: { name: string; address: string; rootPath: string },
): Promise<void> {
  const work = await mkdtemp(join(ca.dir, `${host.name}-`));
  try {
    const cert = join(work, 'cert.pem');
    const key = join(work, 'key.pem');
    await run('openssl', [
      ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', DAYS],
      ...['-CA', ca.certFile, '-CAkey', ca.keyFile, '-keyout', key, '-out', cert],
      ...['-subj', `/O=ferry lab/CN=${host.name}`],
      ...['-addext', `subjectAltName=DNS:${host.name},IP:${host.address}`],
      ...['-addext', 'basicConstraints=critical,CA:FALSE'],
      ...['-addext', 'keyUsage=critical,digitalSignature,keyEncipherment'],
      ...['-addext', 'extendedKeyUsage=serverAuth,clientAuth'],
    ]);
    const at = (inHost: string) => rootNamespacePath(host.rootPath, inHost);
    for (const dir of ['/etc/pki/CA', '/etc/pki/libvirt/private', IN_HOST.qemuDir]) {
      await mkdir(at(dir), { recursive: true, mode: 0o755 });
    }
    const copies: [string, string, number][] = [
      [ca.certFile, IN_HOST.libvirtCa, 0o644],
      [cert, IN_HOST.libvirtServerCert, 0o644],
      [key, IN_HOST.libvirtServerKey, 0o600],
      [cert, IN_HOST.libvirtClientCert, 0o644],
      [key, IN_HOST.libvirtClientKey, 0o600],
      [ca.certFile, `${IN_HOST.qemuDir}/ca-cert.pem`, 0o644],
      [cert, `${IN_HOST.qemuDir}/server-cert.pem`, 0o644],
      [key, `${IN_HOST.qemuDir}/server-key.pem`, 0o600],
      [cert, `${IN_HOST.qemuDir}/client-cert.pem`, 0o644],
      [key, `${IN_HOST.qemuDir}/client-key.pem`, 0o600],
    ];
    for (const [from, to, mode] of copies) {
      await copyFile(from, at(to));
      await chmod(at(to), mode);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
