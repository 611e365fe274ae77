/**
 * libvirt domain XML of a lab guest: the lab's QEMU (layout.ts), TCG, a named CPU model, direct
 * kernel boot, file serial.
 */
import { join } from 'node:path';
import type { GuestImage } from './guest-image';
import { guestDirInHost, labEmulator } from './layout';

export interface GuestSpec {
  name: string;
  memoryMb: number;
  dirtyMb: number;
  /** Attach `<instancesDir>/<name>/disk.qcow2` as virtio disk vda. */
  withDisk: boolean;
  image: GuestImage;
}

/** Paths inside the host (the same on every host, so the domain migrates as is). */
export function guestFiles(name: string): { dir: string; disk: string; serialLog: string } {
  const dir = guestDirInHost(name);
  return { dir, disk: join(dir, 'disk.qcow2'), serialLog: join(dir, 'console.log') };
}

function escapeXml(text: string): string {
  const entities: Record<string, string> = {
    '&': '&amp;',
    '<': '&lt;',
    '>': '&gt;',
    "'": '&apos;',
    '"': '&quot;',
  };
  return text.replace(/[&<>'"]/g, (char) => entities[char]);
}

export function domainXml(spec: GuestSpec): string {
  const files = guestFiles(spec.name);
  // nokaslr: the kernel at the same address on every boot, so that a hung guest's instruction
  // pointer (guest-diagnosis.ts) names a symbol of this kernel package's /proc/kallsyms.
  const cmdline = [
    'console=ttyS0 quiet loglevel=1 panic=-1 nokaslr',
    `ferry.name=${spec.name}`,
    `ferry.dirty_mb=${spec.dirtyMb}`,
  ].join(' ');
  const disk = spec.withDisk
    ? [
        "    <disk type='file' device='disk'>",
        "      <driver name='qemu' type='qcow2'/>",
        `      <source file='${files.disk}'/>`,
        "      <target dev='vda' bus='virtio'/>",
        '    </disk>',
      ]
    : [];
  return `${[
    "<domain type='qemu'>",
    `  <name>${spec.name}</name>`,
    `  <memory unit='MiB'>${spec.memoryMb}</memory>`,
    '  <vcpu>1</vcpu>',
    '  <os>',
    "    <type arch='x86_64' machine='pc'>hvm</type>",
    `    <kernel>${escapeXml(spec.image.kernel)}</kernel>`,
    `    <initrd>${escapeXml(spec.image.initrd)}</initrd>`,
    `    <cmdline>${cmdline}</cmdline>`,
    '  </os>',
    '  <features><acpi/></features>',
    "  <cpu mode='custom' match='exact'><model fallback='forbid'>qemu64</model></cpu>",
    '  <on_poweroff>destroy</on_poweroff>',
    '  <on_reboot>destroy</on_reboot>',
    '  <on_crash>destroy</on_crash>',
    '  <devices>',
    `    <emulator>${escapeXml(labEmulator())}</emulator>`,
    ...disk,
    "    <serial type='file'>",
    `      <source path='${files.serialLog}'/>`,
    "      <target port='0'/>",
    '    </serial>',
    "    <controller type='usb' model='none'/>",
    "    <memballoon model='none'/>",
    '  </devices>',
    '</domain>',
  ].join('\n')}\n`;
}
