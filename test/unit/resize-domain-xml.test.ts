import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOMParser, type Node } from '@xmldom/xmldom';
import { parseXml, serializeXml } from '../../virt/libvirt/domain-xml';
import { parseDomainXml } from '../../virt/libvirt/live-migration-xml';
import { DomainXmlError, domainUuid, resizeDomainXml } from '../../virt/libvirt/resize-xml';
import type { InstanceSize } from '../../workflows/operation-types';

/**
 * `virsh dumpxml --inactive` of a lab guest with Nova-style metadata set through `virsh metadata`
 * (its `<nova:instance>` holds CDATA and a comment); the lab checkout's paths read /srv/ferry.
 */
const LAB_GUEST = readFileSync(
  join(__dirname, '..', 'fixtures', 'domain-xml', 'lab-guest-inactive.xml'),
  'utf8',
);

/**
 * Every node of the document in order, as its path and content: elements with their attributes
 * (name=value, unescaped, sorted), text, CDATA and comments (quoted). Two documents with equal outlines hold
 * the same XML whatever the quote style or entity spelling.
 */
function outline(xml: string): string[] {
  const lines: string[] = [];
  const walk = (node: Node, path: string) => {
    for (let child = node.firstChild; child !== null; child = child.nextSibling) {
      const attributes = Array.from(
        (child as unknown as { attributes?: ArrayLike<{ name: string; value: string }> })
          .attributes ?? [],
        (attribute) => `${attribute.name}=${attribute.value}`,
      ).sort();
      const here = `${path}/${child.nodeName}`;
      const value = child.nodeValue === null ? [] : [JSON.stringify(child.nodeValue)];
      lines.push([here, ...attributes, ...value].join(' '));
      walk(child, here);
    }
  };
  walk(new DOMParser().parseFromString(xml, 'text/xml'), '');
  return lines;
}

/** The entries of `after` that differ from `before`'s at the same index (same length asserted). */
function changedLines(before: string[], after: string[]): string[] {
  expect(after).toHaveLength(before.length);
  return after.filter((line, index) => line !== before[index]);
}

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

    // The serializer writes attributes in double quotes: compare with the definition as it writes it.
    const before = serializeXml(parseXml(DOMAIN)).split('\n');
    expect(changedLines(before, resized.split('\n'))).toEqual([
      '  <memory unit="KiB">196608</memory>',
      '  <currentMemory unit="KiB">196608</currentMemory>',
      '  <vcpu placement="static">2</vcpu>',
    ]);
    expect(resized).toContain('<uuid>6C3F2F4E-8C1A-4A51-9A7E-3F0F6B8E2D11</uuid>');
    expect(resized).toContain('<mac address="52:54:00:3a:9c:11"/>');
    expect(resized).toContain('<source file="/var/lib/ferry/instances/web-1/disk.qcow2"/>');
    expect(resized).toContain('<plain xmlns="http://example.com/plain"><memory>32</memory>');
  });

  it.each([
    ["<vcpu placement='static' current='3' cpuset='0-3'>4</vcpu>"],
    ['<vcpu placement="static" current="3" cpuset="0-3">4</vcpu>'],
    [`<vcpu placement="static" current='3' cpuset="0-3">4</vcpu>`],
  ])('drops a current vCPU count, which could exceed the new count, from %s', (vcpu) => {
    const xml = DOMAIN.replace("<vcpu placement='static'>1</vcpu>", vcpu);

    expect(resizeDomainXml(xml, { vcpus: 2, memoryMiB: 128 })).toContain(
      '<vcpu placement="static" cpuset="0-3">2</vcpu>',
    );
  });

  it('writes memory in KiB whatever unit it had, and adds a missing currentMemory after it', () => {
    const xml = DOMAIN.replace(
      "  <memory unit='KiB'>131072</memory>\n  <currentMemory unit='KiB'>131072</currentMemory>",
      "  <memory unit='GiB'>1</memory>",
    );

    expect(resizeDomainXml(xml, { vcpus: 1, memoryMiB: 512 })).toContain(
      '  <memory unit="KiB">524288</memory>\n  <currentMemory unit="KiB">524288</currentMemory>\n' +
        '  <vcpu placement="static">1</vcpu>',
    );
  });

  it('resizes a real dumpxml and keeps every other node: metadata with CDATA and comments, devices', () => {
    const resized = resizeDomainXml(LAB_GUEST, { vcpus: 2, memoryMiB: 256 });

    expect(changedLines(outline(LAB_GUEST), outline(resized))).toEqual([
      '/domain/memory/#text "262144"',
      '/domain/currentMemory/#text "262144"',
      '/domain/vcpu/#text "2"',
    ]);
    const metadata =
      '    <nova:instance xmlns:nova="http://openstack.org/xmlns/libvirt/nova/1.1">' +
      '<nova:name>web-1</nova:name><![CDATA[flavor <m1.tiny> & co]]>' +
      "<!-- set by ferry's fixture -->" +
      '<nova:flavor name="m1.tiny"><nova:memory>128</nova:memory><nova:vcpus>1</nova:vcpus>' +
      '</nova:flavor></nova:instance>';
    expect(LAB_GUEST.split('\n')).toContain(metadata);
    expect(resized.split('\n')).toContain(metadata);
    expect(outline(resized)).toEqual(
      expect.arrayContaining([
        '/domain/metadata/nova:instance xmlns:nova=http://openstack.org/xmlns/libvirt/nova/1.1',
        '/domain/metadata/nova:instance/#cdata-section "flavor <m1.tiny> & co"',
        `/domain/metadata/nova:instance/#comment " set by ferry's fixture "`,
        `/domain/description/#text "lab guest 'web-1' & \\"friends\\""`,
      ]),
    );
    expect(domainUuid(resized)).toBe(domainUuid(LAB_GUEST));
    expect(parseDomainXml(resized)).toEqual(parseDomainXml(LAB_GUEST));
  });

  it('changes the elements, not comments that look like them, and keeps the comments', () => {
    const xml = DOMAIN.replace(
      "  <memory unit='KiB'>131072</memory>",
      "  <!-- <memory unit='KiB'>1</memory> was the old size -->\n  <memory unit='KiB'>131072</memory>",
    ).replace('  <devices>', '  <!-- devices as nova writes them -->\n  <devices>');

    const resized = resizeDomainXml(xml, { vcpus: 3, memoryMiB: 256 });

    expect(resized).toContain(
      "  <!-- <memory unit='KiB'>1</memory> was the old size -->\n" +
        '  <memory unit="KiB">262144</memory>',
    );
    expect(resized).toContain('  <!-- devices as nova writes them -->\n  <devices>');
    expect(changedLines(outline(xml), outline(resized))).toEqual([
      '/domain/memory/#text "262144"',
      '/domain/currentMemory/#text "262144"',
      '/domain/vcpu/#text "3"',
    ]);
  });

  it.each([
    ['no <domain> element', '<network><name>default</name></network>'],
    ['nothing in it', ''],
    ['XML that is not well-formed', DOMAIN.replace('</devices>', '')],
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

  it('reads the UUID of a real dumpxml, whatever quote style or comments surround it', () => {
    expect(domainUuid(LAB_GUEST)).toBe('52333433-f76e-4d9e-b42f-3162cefa54ec');
    const commented = LAB_GUEST.replace(
      '  <uuid>',
      '  <!-- <uuid>00000000-0000-0000-0000-000000000000</uuid> -->\n  <uuid>',
    ).replace("<domain type='qemu'>", '<domain type="qemu">');
    expect(domainUuid(commented)).toBe('52333433-f76e-4d9e-b42f-3162cefa54ec');
  });
});
