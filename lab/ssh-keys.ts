/**
 * SSH trust between lab hosts: each host has its own host key and root key pair; every host
 * authorizes every host's root key and knows every host's host key by address and by name.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './command';
import { sshdHostKey } from './host-config';
import { rootNamespacePath } from './layout';

export interface HostKeys {
  name: string;
  address: string;
  rootPath: string;
  hostPublicKey: string;
  clientPublicKey: string;
}

function rootSshDir(rootPath: string): string {
  return rootNamespacePath(rootPath, '/root/.ssh');
}

export function clientKeyPath(rootPath: string): string {
  return join(rootSshDir(rootPath), 'id_ed25519');
}

export function knownHostsPath(rootPath: string): string {
  return join(rootSshDir(rootPath), 'known_hosts');
}

/** Creates an ed25519 key pair at `file` and returns the public key as "ssh-ed25519 AAAA...". */
async function keygen(file: string, comment: string): Promise<string> {
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
  const [type, key] = (await readFile(`${file}.pub`, 'utf8')).trim().split(' ');
  return `${type} ${key}`;
}

export async function createHostKeys(
  name: string,
  address: string,
  rootPath: string,
): Promise<HostKeys> {
  const [hostPublicKey, clientPublicKey] = await Promise.all([
    keygen(sshdHostKey(rootPath), name),
    keygen(clientKeyPath(rootPath), `root@${name}`),
  ]);
  return { name, address, rootPath, hostPublicKey, clientPublicKey };
}

export async function writeTrust(all: HostKeys[]): Promise<void> {
  const authorized = all.map((host) => `${host.clientPublicKey}\n`).join('');
  const known = all.map((host) => `${host.address},${host.name} ${host.hostPublicKey}\n`).join('');
  await Promise.all(
    all.flatMap((host) => [
      writeFile(join(rootSshDir(host.rootPath), 'authorized_keys'), authorized, { mode: 0o600 }),
      writeFile(knownHostsPath(host.rootPath), known, { mode: 0o644 }),
    ]),
  );
}
