/**
 * What crosses the lab network: tcpdump on one host's port of the lab bridge (its veth end in the
 * bridge's namespace, which sees every frame the host sends or receives), into a pcap file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { BRIDGE_NETNS } from '../../lab/layout';

export interface WireCapture {
  /** Stops tcpdump; resolves with the capture's bytes and the packets the kernel dropped. */
  stop(): Promise<{ pcap: Buffer; dropped: number }>;
}

/** Starts capturing on `hostName`'s bridge port; resolves once tcpdump listens. */
export async function captureHostPort(hostName: string, file: string): Promise<WireCapture> {
  const args = ['netns', 'exec', BRIDGE_NETNS, 'tcpdump', '-n', '-i', hostName, '-B', '65536'];
  const tcpdump: ChildProcess = spawn('ip', [...args, '-w', file], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => tcpdump.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    tcpdump.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('listening on')) resolve();
    });
    void exited.then((code) => reject(new Error(`tcpdump exited (${code}): ${stderr}`)));
  });
  return {
    async stop() {
      tcpdump.kill('SIGINT');
      await exited;
      const dropped = Number(/(\d+) packets? dropped by kernel/.exec(stderr)?.[1] ?? NaN);
      return { pcap: await readFile(file), dropped };
    },
  };
}

/** Bytes of `text` found in `bytes`: its non-overlapping occurrences times its length. */
export function bytesOfText(bytes: Buffer, text: string): number {
  const needle = Buffer.from(text);
  let count = 0;
  for (let at = bytes.indexOf(needle); at !== -1; at = bytes.indexOf(needle, at + needle.length)) {
    count++;
  }
  return count * needle.length;
}
