/**
 * A byte relay across network namespaces, run as its own process:
 * `node dist/lab/relay.js LISTEN TARGET [LISTEN TARGET ...]`, each endpoint `unix:/path` or
 * `tcp:HOST:PORT`. Every connection accepted on LISTEN is piped to a new connection to its TARGET;
 * the targets are fixed at start, so the relay can reach nothing else.
 */
import { rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';

type Endpoint = { path: string } | { host: string; port: number };

function parseEndpoint(text: string): Endpoint {
  if (text.startsWith('unix:/')) return { path: text.slice('unix:'.length) };
  const tcp = /^tcp:([^:]+):(\d{1,5})$/.exec(text);
  if (tcp) return { host: tcp[1], port: Number(tcp[2]) };
  throw new Error(`relay: bad endpoint ${text} (want unix:/path or tcp:HOST:PORT)`);
}

/**
 * Pipes both ways; an end is passed on once written out, an error tears down both sides. TCP
 * sides send at once (no Nagle): a gRPC message written in pieces otherwise waits for the peer's
 * delayed ACK, 40 ms, and every Temporal call of an agent in the lab took that much longer.
 */
function pipeBoth(accepted: Socket, target: Endpoint): void {
  const outgoing = connect({ ...target, noDelay: true });
  const abort = (): void => {
    accepted.destroy();
    outgoing.destroy();
  };
  accepted.on('error', abort);
  outgoing.on('error', abort);
  accepted.pipe(outgoing).pipe(accepted);
}

function listen(listenAt: Endpoint, target: Endpoint): void {
  if ('path' in listenAt) rmSync(listenAt.path, { force: true });
  const server = createServer({ noDelay: true }, (accepted) => pipeBoth(accepted, target));
  server.on('error', (error) => {
    process.stderr.write(`relay: ${error.message}\n`);
    process.exit(1);
  });
  server.listen(listenAt);
}

const args = process.argv.slice(2);
if (args.length === 0 || args.length % 2 !== 0) {
  process.stderr.write('usage: relay LISTEN TARGET [LISTEN TARGET ...]\n');
  process.exit(2);
}
for (let i = 0; i < args.length; i += 2) listen(parseEndpoint(args[i]), parseEndpoint(args[i + 1]));
