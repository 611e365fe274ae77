/**
 * The host agent's own libvirt connection, kept open between activities (docs/host-agent.md,
 * "Its libvirt connection"). Opening one costs a TLS handshake in the lab and a socket and an
 * authentication on a compute host, and a live migration's activities would open five of them on
 * their own hosts. Before each use the kept connection is asked for the hypervisor's version; when
 * that fails (the daemon restarted, the socket closed) it is dropped and a new one opened, so a
 * use never starts on a connection already known dead.
 */
import { log } from '@temporalio/activity';
import type { Hypervisor, HypervisorConnection } from '../../virt/driver';

/**
 * `hypervisor` with its connection to `uri` kept: `withConnection(uri, fn)` lends `fn` the kept
 * connection, which `fn` must not close. `openConnection` still gives its caller a connection of
 * its own (a migration's job runs on one), and every other URI (a peer's) is opened for each use.
 */
export function keepingConnection(hypervisor: Hypervisor, uri: string): Hypervisor {
  let kept: HypervisorConnection | undefined;
  let opening: Promise<HypervisorConnection> | undefined;

  const open = (): Promise<HypervisorConnection> => {
    opening ??= hypervisor
      .openConnection(uri)
      .then((conn) => (kept = conn))
      .finally(() => (opening = undefined));
    return opening;
  };

  const current = async (): Promise<HypervisorConnection> => {
    const conn = kept;
    if (conn === undefined) return open();
    try {
      await conn.getVersion();
      return conn;
    } catch (error) {
      // The first use to find it dead drops and closes it; the others take what replaces it.
      if (kept === conn) {
        kept = undefined;
        log.warn('the kept libvirt connection no longer answers: opening a new one', {
          uri,
          error: error instanceof Error ? error.message : String(error),
        });
        await conn.close().catch(() => undefined);
      }
      return kept ?? open();
    }
  };

  return {
    openConnection: (other) => hypervisor.openConnection(other),
    async withConnection(other, fn) {
      if (other !== uri) return hypervisor.withConnection(other, fn);
      return fn(await current());
    },
  };
}
