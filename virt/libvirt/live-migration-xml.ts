/**
 * What the live migration reads from a domain's XML: the guest CPU, the disks, passthrough
 * devices. Read from the parsed document (domain-xml.ts), only from the `<domain>` element's own
 * children, never from inside `<metadata>`.
 */
import {
  attributeOf,
  childElement,
  childElements,
  domainElement,
  parseXml,
  serializeXml,
  textOf,
  type Element,
} from './domain-xml';

export interface DomainDisk {
  /** The guest's device name (vda, ...). */
  target: string;
  /** libvirt's disk type: file, block, network, volume, ... */
  type: string;
  /** The source file of a file-backed disk, else null. */
  path: string | null;
  /** The driver's format (qcow2, raw, ...), null when the XML names none. */
  format: string | null;
}

export interface DomainXmlFacts {
  /** The `<cpu>` element, serialized (attributes in double quotes), null when the domain has none. */
  cpuXml: string | null;
  /** The QEMU binary the domain runs (`<emulator>`), null when the XML names none. */
  emulator: string | null;
  /** The domain's virtualization type (`<domain type=…>`: kvm, or qemu for TCG). */
  virtType: string | null;
  /** Disks with device='disk' (not cdroms or floppies), in XML order. */
  disks: DomainDisk[];
  /** One description per passthrough device: `<hostdev>` and `<interface type='hostdev'>`. */
  passthrough: string[];
  /** Files of `<serial type='file'>` and `<console type='file'>` devices (the console log). */
  consoleFiles: string[];
}

function parseDisks(devices: Element | null): DomainDisk[] {
  if (!devices) return [];
  return childElements(devices, 'disk')
    .filter((disk) => (attributeOf(disk, 'device') ?? 'disk') === 'disk')
    .map((disk) => {
      const type = attributeOf(disk, 'type') ?? 'file';
      return {
        target: attributeOf(childElement(disk, 'target'), 'dev') ?? '',
        type,
        path: type === 'file' ? attributeOf(childElement(disk, 'source'), 'file') : null,
        format: attributeOf(childElement(disk, 'driver'), 'type'),
      };
    });
}

function parsePassthrough(devices: Element | null): string[] {
  if (!devices) return [];
  const hostdevs = childElements(devices, 'hostdev').map(
    (hostdev) => `hostdev ${attributeOf(hostdev, 'type') ?? 'device'}`,
  );
  const interfaces = childElements(devices, 'interface')
    .filter((nic) => attributeOf(nic, 'type') === 'hostdev')
    .map(() => 'interface type hostdev');
  return [...hostdevs, ...interfaces];
}

function parseConsoleFiles(devices: Element | null): string[] {
  if (!devices) return [];
  const files = childElements(devices)
    .filter((device) => ['serial', 'console'].includes(device.tagName))
    .filter((device) => attributeOf(device, 'type') === 'file')
    .map((device) => attributeOf(childElement(device, 'source'), 'path'))
    .filter((path): path is string => path !== null);
  return [...new Set(files)];
}

/** The facts of a domain definition; throws DomainXmlError when `xml` is not one. */
export function parseDomainXml(xml: string): DomainXmlFacts {
  const domain = domainElement(parseXml(xml));
  const devices = childElement(domain, 'devices');
  const cpu = childElement(domain, 'cpu');
  return {
    cpuXml: cpu ? serializeXml(cpu) : null,
    emulator: textOf(childElement(devices, 'emulator')),
    virtType: attributeOf(domain, 'type'),
    disks: parseDisks(devices),
    passthrough: parsePassthrough(devices),
    consoleFiles: parseConsoleFiles(devices),
  };
}
