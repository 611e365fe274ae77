import { DomainXmlError, domainUuid, resizeDomainXml } from '../../virt/libvirt/resize-xml';
import type { InstanceSize } from '../../workflows/operation-types';

/** A persistent definition as `virsh dumpxml --inactive` prints a lab guest with a disk and a NIC. */
const DOMAIN = `<domain type='qemu'>
  <name>web-1</name>
  <uuid>6C3F2F4E-8C1A-4A51-9A7E-3F0F6B8E2D11</uuid>
  <metadata>
    <app:flavor xmlns:app="http://example.com/app">
      <app:memory>64</app:memory>
    </app:flavor>
    <plain xmlns="http://example.com/plain"><memory>32</memory><vcpu>9</vcpu></plain>
  </metadata>
  <memory unit='KiB'>131072</memory>
  <currentMemory unit='KiB'>131072</currentMemory>
  <vcpu placement='static'>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>
    <kernel>/var/lib/ferry/images/vmlinuz</kernel>
  </os>
  <memoryBacking>
    <nosharepages/>
  </memoryBacking>
  <cpu mode='custom' match='exact' check='full'>
    <model fallback='forbid'>qemu64</model>
  </cpu>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/ferry/instances/web-1/disk.qcow2'/>
      <target dev='vda' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/>
    </disk>
    <interface type='network'>
      <mac address='52:54:00:3a:9c:11'/>
      <source network='default'/>
      <model type='virtio'/>
    </interface>
    <serial type='file'>
      <source path='/var/lib/ferry/instances/web-1/console.log'/>
      <target type='isa-serial' port='0'/>
    </serial>
    <console type='file'>
      <source path='/var/lib/ferry/instances/web-1/console.log'/>
      <target type='serial' port='0'/>
    </console>
    <serial type='pty'>
      <target type='isa-serial' port='1'/>
    </serial>
    <memballoon model='none'/>
  </devices>
</domain>
`;

describe('resizeDomainXml', () => {
  it('sets vcpu, memory and currentMemory and leaves every other line as it was', () => {
    // A flavor's whole size, as finishResizeAtDestination passes it: the root disk is not its business.
    const flavor: InstanceSize = { vcpus: 2, memoryMiB: 192, rootDiskGiB: 0 };
    const resized = resizeDomainXml(DOMAIN, flavor);

    const before = DOMAIN.split('\n');
    const after = resized.split('\n');
    expect(after).toHaveLength(before.length);
    const changed = after.filter((line, index) => line !== before[index]);
    expect(changed).toEqual([
      "  <memory unit='KiB'>196608</memory>",
      "  <currentMemory unit='KiB'>196608</currentMemory>",
      "  <vcpu placement='static'>2</vcpu>",
    ]);
    expect(resized).toContain('<uuid>6C3F2F4E-8C1A-4A51-9A7E-3F0F6B8E2D11</uuid>');
    expect(resized).toContain("<mac address='52:54:00:3a:9c:11'/>");
    expect(resized).toContain("<source file='/var/lib/ferry/instances/web-1/disk.qcow2'/>");
    expect(resized).toContain('<plain xmlns="http://example.com/plain"><memory>32</memory>');
  });

  it('drops a current vCPU count, which could exceed the new count, and keeps other attributes', () => {
    const xml = DOMAIN.replace(
      "<vcpu placement='static'>1</vcpu>",
      "<vcpu placement='static' current='3' cpuset='0-3'>4</vcpu>",
    );

    expect(resizeDomainXml(xml, { vcpus: 2, memoryMiB: 128 })).toContain(
      "<vcpu placement='static' cpuset='0-3'>2</vcpu>",
    );
  });

  it('writes memory in KiB whatever unit it had, and adds a missing currentMemory after it', () => {
    const xml = DOMAIN.replace(
      "  <memory unit='KiB'>131072</memory>\n  <currentMemory unit='KiB'>131072</currentMemory>",
      "  <memory unit='GiB'>1</memory>",
    );

    expect(resizeDomainXml(xml, { vcpus: 1, memoryMiB: 512 })).toContain(
      "  <memory unit='KiB'>524288</memory>\n  <currentMemory unit='KiB'>524288</currentMemory>\n" +
        "  <vcpu placement='static'>1</vcpu>",
    );
  });

  it.each([
    ['no <domain> element', '<network><name>default</name></network>'],
    ['nothing in it', ''],
    ['no <vcpu>', DOMAIN.replace("  <vcpu placement='static'>1</vcpu>\n", '')],
    ['no <memory>', DOMAIN.replace("  <memory unit='KiB'>131072</memory>\n", '')],
  ])('rejects a definition with %s', (_, xml) => {
    expect(() => resizeDomainXml(xml, { vcpus: 2, memoryMiB: 192 })).toThrow(DomainXmlError);
  });

  it.each([
    { vcpus: 0, memoryMiB: 128 },
    { vcpus: 1.5, memoryMiB: 128 },
    { vcpus: 1, memoryMiB: -1 },
  ])('rejects the size %o', (size) => {
    expect(() => resizeDomainXml(DOMAIN, size)).toThrow(DomainXmlError);
  });
});

describe('domainUuid', () => {
  it('reads the UUID in lower case, and refuses a definition without one', () => {
    expect(domainUuid(DOMAIN)).toBe('6c3f2f4e-8c1a-4a51-9a7e-3f0f6b8e2d11');
    expect(() => domainUuid(DOMAIN.replace(/ {2}<uuid>.*<\/uuid>\n/, ''))).toThrow(
      'the domain definition has no <uuid>',
    );
  });
});
