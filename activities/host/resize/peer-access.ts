/**
 * How a host agent reaches another host's sshd to copy disks there: the peer's endpoint, pinned
 * host key and instances dir come in the request (the workflow read them from the Host row through
 * the control plane); the private key is this host's own, read from a file for each copy and never
 * passed anywhere else.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { PeerHost } from '../../../workflows/operation-types';
import { migrationFailure } from '../live-migration/failures';
import type { SshTarget } from '../ssh';

export interface PeerAccess {
  /** The user to log in as on peers (the agents' user: the same on every host). */
  username: string;
  /** This host's SSH private key, authorized on every peer. */
  privateKeyPath: string;
}

export interface Peer {
  target: SshTarget;
  instancesDir: string;
}

/** OpenSSH's default identity files, in the order ssh tries them. */
const IDENTITY_FILES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

/** The first of OpenSSH's default identities that exists in `~/.ssh` (else id_ed25519). */
export function defaultIdentityFile(home = homedir()): string {
  const paths = IDENTITY_FILES.map((name) => join(home, '.ssh', name));
  return paths.find((path) => existsSync(path)) ?? paths[0];
}

/** How `hostName` (this agent's host) connects to `peerName`, described by `record`. */
export async function connectTarget(
  hostName: string,
  peers: PeerAccess | undefined,
  peerName: string,
  record: PeerHost | undefined,
): Promise<Peer> {
  if (peers === undefined) {
    throw migrationFailure(
      'MigrationError',
      `the agent of ${hostName} was started without SSH access to peers: it cannot copy disks`,
    );
  }
  if (record?.name !== peerName) {
    throw migrationFailure(
      'MigrationError',
      `cannot copy disks from ${hostName} to ${peerName}: the request does not describe it ` +
        '(its sshd and host key come from the control plane)',
    );
  }
  if (record.sshAddress === null || record.sshHostKey === null) {
    throw migrationFailure(
      'MigrationError',
      `host ${peerName} has no SSH ${record.sshAddress === null ? 'address' : 'host key'} ` +
        'registered: ferry copies disks only to hosts whose key it can check',
    );
  }
  const privateKey = await readFile(peers.privateKeyPath).catch((error: Error) => {
    throw migrationFailure(
      'MigrationError',
      `cannot read ${hostName}'s SSH private key ${peers.privateKeyPath}: ${error.message}`,
    );
  });
  return {
    target: {
      host: record.sshAddress,
      port: record.sshPort,
      username: peers.username,
      privateKey,
      hostPublicKey: record.sshHostKey,
    },
    instancesDir: record.instancesDir,
  };
}
