/**
 * What became of a lab guest, for a test's failure message: libvirt's state and reason, where the
 * vCPU is (instruction pointer, flags and the instructions there, from the QEMU monitor) when it
 * runs, the last lines libvirt wrote about its QEMU process (how it was shut down), and the end of
 * its console. Enough to tell what a TCG migration bug like QEMU 7.2's (docs/lab.md) does to
 * a guest (hung, or panicked and shut off) from a domain something destroyed. Lab guests boot with
 * nokaslr, so the instruction pointer names the same kernel symbol on every run (docs/lab.md).
 */
import { readFile } from 'node:fs/promises';
import { run } from './command';
import { guestFiles } from './guest-domain';
import { rootNamespacePath } from './layout';
import type { LabHost } from './state';

const REGISTERS = /\b(?:RIP|RFL|HLT|CR0|EFER)=\S+(?: \[[^\]]*\])?/g;

async function tail(path: string, lines: number): Promise<string> {
  const text = await readFile(path, 'utf8').catch((error: Error) => `(${error.message})`);
  return text.trimEnd().split('\n').slice(-lines).join(' | ');
}

export async function guestDiagnosis(host: LabHost, name: string): Promise<string> {
  const virsh = async (args: string[]) =>
    (
      await run('virsh', ['-c', host.libvirtUri, ...args], { timeoutMs: 10_000 }).catch(
        (error: Error) => `(${error.message})`,
      )
    ).trim();
  const qemuLog = rootNamespacePath(host.rootPath, `/var/log/libvirt/qemu/${name}.log`);
  const consoleLog = rootNamespacePath(host.rootPath, guestFiles(name).serialLog);
  const [libvirtLines, consoleLines] = [await tail(qemuLog, 3), await tail(consoleLog, 3)];
  const state = await virsh(['domstate', '--reason', name]);
  const running = state.startsWith('running');
  const monitor = (command: string) => virsh(['qemu-monitor-command', '--hmp', name, command]);
  const registers = running ? ((await monitor('info registers')).match(REGISTERS) ?? []) : [];
  const rip = registers.find((register) => register.startsWith('RIP='))?.slice(4);
  const code = rip ? (await monitor(`x/4i 0x${rip}`)).replace(/\s+/g, ' ') : '';
  return [
    `${name} on ${host.name}: ${state}${registers.length > 0 ? `; ${registers.join(' ')}` : ''}`,
    ...(code ? [`  code: ${code}`] : []),
    `  libvirt: ${libvirtLines}`,
    `  console: ${consoleLines}`,
  ].join('\n');
}
