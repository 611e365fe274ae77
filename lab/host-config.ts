/** Configuration files of one lab host's libvirtd, QEMU driver and sshd. */
import { join } from 'node:path';
import { QEMU_TLS_DIR } from '../config/migration-tls';
import { rootNamespacePath } from './layout';

export interface HostIdentity {
  name: string;
  address: string;
  hostUuid: string;
  rootPath: string;
}

function conf(settings: Record<string, string | number>): string {
  const lines = Object.entries(settings).map(([key, value]) =>
    typeof value === 'number' || value.startsWith('[')
      ? `${key} = ${value}`
      : `${key} = "${value}"`,
  );
  return `${lines.join('\n')}\n`;
}

export function libvirtdConf(host: HostIdentity): string {
  return conf({
    listen_tls: 1,
    listen_tcp: 0,
    listen_addr: host.address,
    unix_sock_dir: '/run/libvirt',
    host_uuid: host.hostUuid,
    log_outputs: '3:file:/var/log/libvirt/libvirtd.log',
  });
}

export function qemuConf(host: HostIdentity): string {
  return conf({
    user: 'root',
    group: 'root',
    security_driver: 'none',
    cgroup_controllers: '[ ]',
    stdio_handler: 'file',
    migration_address: host.address,
    migration_host: host.address,
    default_tls_x509_cert_dir: QEMU_TLS_DIR,
    default_tls_x509_verify: 1,
  });
}

/** Where a host's sshd files live; sshd reads them by root-namespace path, visible in the host. */
export function sshdDir(rootPath: string): string {
  return rootNamespacePath(rootPath, '/etc/ssh');
}

export function sshdHostKey(rootPath: string): string {
  return join(sshdDir(rootPath), 'ssh_host_ed25519_key');
}

export function sshdConfigFile(rootPath: string): string {
  return join(sshdDir(rootPath), 'sshd_config');
}

export function sshdConfig(host: HostIdentity): string {
  return `${[
    'Port 22',
    `ListenAddress ${host.address}`,
    `HostKey ${sshdHostKey(host.rootPath)}`,
    'PidFile /run/sshd.pid',
    'AuthorizedKeysFile .ssh/authorized_keys',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'PermitRootLogin prohibit-password',
    'Subsystem sftp internal-sftp',
    // Lets copyDisk start its receiver without bash reading ~/.bashrc (docs/disk-copy.md).
    'AcceptEnv SHLVL',
  ].join('\n')}\n`;
}
