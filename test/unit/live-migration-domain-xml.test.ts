import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DomainXmlError } from '../../virt/libvirt/domain-xml';
import { parseDomainXml } from '../../virt/libvirt/live-migration-xml';

/**
 * `virsh dumpxml` of a lab guest with Nova-style metadata set through `virsh metadata`; the lab
 * checkout's paths read /srv/ferry.
 */
function fixture(name: string): string {
  return readFileSync(join(__dirname, '..', 'fixtures', 'domain-xml', name), 'utf8');
}

/** A domain as libvirt writes a running guest's XML, with `devices` inside `<devices>`. */
function domain(devices: string, cpu = ''): string {
  return `<domain type='kvm' id='3'>
  <name>web-1</name>
  <uuid>6c3f2f4e-8c1a-4a51-9a7e-3f0f6b8e2d11</uuid>
  <memory unit='KiB'>2097152</memory>
  <vcpu placement='static'>2</vcpu>
  <cputune>
    <shares>2048</shares>
  </cputune>
  ${cpu}
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
${devices}
  </devices>
</domain>
`;
}

const QCOW2_DISK = `    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='none'/>
      <source file='/var/lib/ferry/instances/web-1/disk.qcow2' index='2'/>
      <backingStore/>
      <target dev='vda' bus='virtio'/>
      <alias name='virtio-disk0'/>
    </disk>`;

describe('parseDomainXml', () => {
  it('reads the guest CPU element, serialized, and file-backed disks with their format', () => {
    const cpu = `<cpu mode='custom' match='exact' check='full'>
    <model fallback='forbid'>qemu64</model>
    <feature policy='require' name='hypervisor'/>
  </cpu>`;
    const raw = `    <disk type="file" device="disk">
      <driver name="qemu" type="raw"/>
      <source file="/var/lib/ferry/instances/web-1/data &amp; logs/it&apos;s.img"/>
      <target dev="vdb" bus="virtio"/>
    </disk>`;
    expect(parseDomainXml(domain(`${QCOW2_DISK}\n${raw}`, cpu))).toEqual({
      cpuXml: `<cpu mode="custom" match="exact" check="full">
    <model fallback="forbid">qemu64</model>
    <feature policy="require" name="hypervisor"/>
  </cpu>`,
      emulator: '/usr/bin/qemu-system-x86_64',
      virtType: 'kvm',
      disks: [
        {
          target: 'vda',
          type: 'file',
          path: '/var/lib/ferry/instances/web-1/disk.qcow2',
          format: 'qcow2',
        },
        {
          target: 'vdb',
          type: 'file',
          path: "/var/lib/ferry/instances/web-1/data & logs/it's.img",
          format: 'raw',
        },
      ],
      passthrough: [],
      consoleFiles: [],
    });
  });

  it('names the files of file-backed serial and console devices, once each, and no others', () => {
    const devices = `<serial type='file'>
      <source path='/var/lib/ferry/instances/web-1/console.log'/>
      <target type='isa-serial' port='0'/>
    </serial>
    <console type='file'>
      <source path='/var/lib/ferry/instances/web-1/console.log'/>
      <target type='serial' port='0'/>
    </console>
    <serial type='pty'>
      <source path='/dev/pts/3'/>
    </serial>`;
    expect(parseDomainXml(domain(devices)).consoleFiles).toEqual([
      '/var/lib/ferry/instances/web-1/console.log',
    ]);
  });

  it('reads the emulator, unescaped, and none when the domain names none', () => {
    const lab = domain(QCOW2_DISK).replace(
      '/usr/bin/qemu-system-x86_64',
      '/srv/ferry &amp; co/.tools/qemu/qemu-system-x86_64',
    );
    expect(parseDomainXml(lab).emulator).toBe('/srv/ferry & co/.tools/qemu/qemu-system-x86_64');
    const none = domain(QCOW2_DISK).replace(/ *<emulator>.*<\/emulator>\n/, '');
    expect(parseDomainXml(none).emulator).toBeNull();
  });

  it('takes a self-closing CPU element, and none when the domain has none', () => {
    const cpu = "<cpu mode='host-model' check='partial'/>";
    expect(parseDomainXml(domain(QCOW2_DISK, cpu)).cpuXml).toBe(
      '<cpu mode="host-model" check="partial"/>',
    );
    expect(parseDomainXml(domain(QCOW2_DISK)).cpuXml).toBeNull();
  });

  it('leaves out cdroms and floppies, and keeps other disk types with no path', () => {
    const devices = `    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <source file='/var/lib/ferry/images/config.iso'/>
      <target dev='sda' bus='sata'/>
      <readonly/>
    </disk>
    <disk type='network' device='disk'>
      <driver name='qemu' type='raw'/>
      <source protocol='rbd' name='volumes/web-1-data'/>
      <target dev='vdc' bus='virtio'/>
    </disk>
    <disk type='block' device='disk'>
      <source dev='/dev/vg0/web-1'/>
      <target dev='vdd' bus='virtio'/>
    </disk>`;
    expect(parseDomainXml(domain(devices)).disks).toEqual([
      { target: 'vdc', type: 'network', path: null, format: 'raw' },
      { target: 'vdd', type: 'block', path: null, format: null },
    ]);
  });

  it('names passthrough devices: hostdevs and hostdev interfaces, not other interfaces', () => {
    const devices = `${QCOW2_DISK}
    <interface type='bridge'>
      <source bridge='br0'/>
      <model type='virtio'/>
    </interface>
    <interface type='hostdev' managed='yes'>
      <source>
        <address type='pci' domain='0x0000' bus='0x3b' slot='0x02' function='0x1'/>
      </source>
    </interface>
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source>
        <address domain='0x0000' bus='0x65' slot='0x00' function='0x0'/>
      </source>
    </hostdev>
    <hostdev mode='subsystem' type='usb'>
      <source>
        <vendor id='0x0781'/>
        <product id='0x5567'/>
      </source>
    </hostdev>`;
    expect(parseDomainXml(domain(devices)).passthrough).toEqual([
      'hostdev pci',
      'hostdev usb',
      'interface type hostdev',
    ]);
  });

  it('reads what a real virsh dumpxml of a lab guest names, live, migratable and inactive', () => {
    const expected = {
      emulator: '/srv/ferry/.tools/qemu/qemu-system-x86_64',
      virtType: 'qemu',
      disks: [
        {
          target: 'vda',
          type: 'file',
          path: '/var/lib/ferry/instances/web-1/disk.qcow2',
          format: 'qcow2',
        },
      ],
      passthrough: [],
      consoleFiles: ['/var/lib/ferry/instances/web-1/console.log'],
    };
    const live = parseDomainXml(fixture('lab-guest.xml'));
    expect(live).toEqual({
      ...expected,
      cpuXml: `<cpu mode="custom" match="exact" check="full">
    <model fallback="forbid">qemu64</model>
    <feature policy="require" name="hypervisor"/>
    <feature policy="require" name="lahf_lm"/>
  </cpu>`,
    });
    const checkNone = `<cpu mode="custom" match="exact" check="none">
    <model fallback="forbid">qemu64</model>
  </cpu>`;
    expect(parseDomainXml(fixture('lab-guest-migratable.xml'))).toEqual({
      ...expected,
      cpuXml: checkNone,
    });
    expect(parseDomainXml(fixture('lab-guest-inactive.xml'))).toEqual({
      ...expected,
      cpuXml: checkNone,
    });
  });

  it('never reads inside <metadata>: its CDATA, comments and namespaced elements are not devices', () => {
    const xml = fixture('lab-guest.xml');
    expect(xml).toContain('<![CDATA[flavor <m1.tiny> & co]]>');
    expect(xml).toContain(
      '<nova:instance xmlns:nova="http://openstack.org/xmlns/libvirt/nova/1.1">',
    );
    const decoy = `<devices xmlns="http://example.com/app"><emulator>/bin/false</emulator>
      <disk type="file" device="disk"><source file="/etc/passwd"/><target dev="vdz"/></disk>
      <hostdev type="pci"/></devices><cpu xmlns="http://example.com/app" mode="host-passthrough"/>`;
    const withDecoy = xml.replace('</nova:instance>', `</nova:instance>\n    ${decoy}`);
    expect(withDecoy).not.toBe(xml);
    expect(parseDomainXml(withDecoy)).toEqual(parseDomainXml(xml));
  });

  it('skips comments, a commented-out disk included, in either quote style', () => {
    const commented = `    <!-- <disk type='file' device='disk'><source file='/old.img'/><target dev='vdq'/></disk> -->
    <disk type="file" device='disk'>
      <!-- the data disk -->
      <driver name='qemu' type="raw"/>
      <source file="/var/lib/ferry/instances/web-1/data.img"/>
      <target dev='vdb' bus="virtio"/>
    </disk>`;
    expect(parseDomainXml(domain(`${QCOW2_DISK}\n${commented}`)).disks).toEqual([
      {
        target: 'vda',
        type: 'file',
        path: '/var/lib/ferry/instances/web-1/disk.qcow2',
        format: 'qcow2',
      },
      {
        target: 'vdb',
        type: 'file',
        path: '/var/lib/ferry/instances/web-1/data.img',
        format: 'raw',
      },
    ]);
  });

  it.each([
    ['not well-formed', '<domain type="kvm"><devices></domain>'],
    ['no <domain> element', '<network><name>default</name></network>'],
    ['nothing in it', ''],
  ])('refuses a definition with %s', (_, xml) => {
    expect(() => parseDomainXml(xml)).toThrow(DomainXmlError);
  });
});
