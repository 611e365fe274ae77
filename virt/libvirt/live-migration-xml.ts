/**
 * What the live migration reads from a domain's XML: the guest CPU, the disks, passthrough
 * devices. libvirt writes this XML itself, in a regular form (attributes quoted, one element per
 * tag), which these patterns rely on.
 */

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
  /** The `<cpu>` element as written, null when the domain has none. */
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

const ENTITIES: Record<string, string> = {
  '&apos;': "'",
  '&quot;': '"',
  '&lt;': '<',
  '&gt;': '>',
  '&amp;': '&',
};

function unescapeXml(text: string): string {
  return text.replace(/&(?:apos|quot|lt|gt|amp);/g, (entity) => ENTITIES[entity]);
}

/** The value of `name` in an element's attribute text, unescaped; null when absent. */
function attribute(attributes: string, name: string): string | null {
  const match = new RegExp(`(?:^|\\s)${name}=(['"])(.*?)\\1`).exec(attributes);
  return match ? unescapeXml(match[2]) : null;
}

/** The attribute `name` of the first `<tag ...>` element in `body`. */
function childAttribute(body: string, tag: string, name: string): string | null {
  const element = new RegExp(`<${tag}\\b([^>]*?)/?>`).exec(body);
  return element ? attribute(element[1], name) : null;
}

function parseDisks(devices: string): DomainDisk[] {
  const disks: DomainDisk[] = [];
  for (const [, attributes, body] of devices.matchAll(/<disk\b([^>]*)>([\s\S]*?)<\/disk>/g)) {
    if ((attribute(attributes, 'device') ?? 'disk') !== 'disk') continue;
    const type = attribute(attributes, 'type') ?? 'file';
    disks.push({
      target: childAttribute(body, 'target', 'dev') ?? '',
      type,
      path: type === 'file' ? childAttribute(body, 'source', 'file') : null,
      format: childAttribute(body, 'driver', 'type'),
    });
  }
  return disks;
}

function parsePassthrough(devices: string): string[] {
  const hostdevs = [...devices.matchAll(/<hostdev\b([^>]*)>/g)].map(
    ([, attributes]) => `hostdev ${attribute(attributes, 'type') ?? 'device'}`,
  );
  const interfaces = [...devices.matchAll(/<interface\b([^>]*)>/g)]
    .filter(([, attributes]) => attribute(attributes, 'type') === 'hostdev')
    .map(() => 'interface type hostdev');
  return [...hostdevs, ...interfaces];
}

function parseConsoleFiles(devices: string): string[] {
  const files = [...devices.matchAll(/<(serial|console)\b([^>]*)>([\s\S]*?)<\/\1>/g)]
    .filter(([, , attributes]) => attribute(attributes, 'type') === 'file')
    .map(([, , , body]) => childAttribute(body, 'source', 'path'))
    .filter((path): path is string => path !== null);
  return [...new Set(files)];
}

export function parseDomainXml(xml: string): DomainXmlFacts {
  const devices = /<devices>([\s\S]*?)<\/devices>/.exec(xml)?.[1] ?? '';
  const cpu = /<cpu\b[^>]*\/>|<cpu\b[^>]*>[\s\S]*?<\/cpu>/.exec(xml);
  const emulator = /<emulator>([^<]*)<\/emulator>/.exec(devices)?.[1];
  return {
    cpuXml: cpu ? cpu[0] : null,
    emulator: emulator === undefined ? null : unescapeXml(emulator.trim()),
    virtType: attribute(/<domain\b([^>]*)>/.exec(xml)?.[1] ?? '', 'type'),
    disks: parseDisks(devices),
    passthrough: parsePassthrough(devices),
    consoleFiles: parseConsoleFiles(devices),
  };
}
