/**
 * What a resize reads from and changes in a domain's persistent XML besides what the live
 * migration reads (live-migration-xml.ts): its UUID, and its size (vCPUs and memory). Only the
 * `<domain>` element's own children are read or changed; everything else, `<metadata>` with its
 * namespaced elements, comments and CDATA included, is serialized back as it was parsed.
 */
import type { InstanceSize } from '../../workflows/operation-types';
import { childElement, domainElement, DomainXmlError, parseXml, serializeXml } from './domain-xml';

export { DomainXmlError };

/** The domain's UUID, lower-case. */
export function domainUuid(xml: string): string {
  const uuid = childElement(domainElement(parseXml(xml)), 'uuid')?.textContent?.trim();
  if (!uuid) throw new DomainXmlError('the domain definition has no <uuid>');
  return uuid.toLowerCase();
}

/**
 * The definition with the vCPUs and memory of `size` and everything else as it was: name, UUID,
 * devices with their MACs and disk paths. `<vcpu>` keeps its attributes but `current` (which
 * could exceed the new count); `<memory>` and `<currentMemory>` are written in KiB, and
 * `<currentMemory>` is added after `<memory>` where it was missing.
 */
export function resizeDomainXml(xml: string, size: Pick<InstanceSize, 'vcpus' | 'memoryMiB'>) {
  for (const [name, value] of Object.entries({ vcpus: size.vcpus, memoryMiB: size.memoryMiB })) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new DomainXmlError(`${name} must be a positive whole number, not ${value}`);
    }
  }
  const document = parseXml(xml);
  const domain = domainElement(document);
  const vcpu = childElement(domain, 'vcpu');
  if (!vcpu) throw new DomainXmlError('the domain definition has no <vcpu> element');
  const memory = childElement(domain, 'memory');
  if (!memory) throw new DomainXmlError('the domain definition has no <memory> element');

  vcpu.removeAttribute('current');
  vcpu.textContent = String(size.vcpus);
  const kib = String(size.memoryMiB * 1024);
  let currentMemory = childElement(domain, 'currentMemory');
  if (!currentMemory) {
    currentMemory = document.createElement('currentMemory');
    // On a line of its own, indented as libvirt indents the domain's children.
    domain.insertBefore(document.createTextNode('\n  '), memory.nextSibling);
    domain.insertBefore(currentMemory, memory.nextSibling?.nextSibling ?? null);
  }
  for (const element of [memory, currentMemory]) {
    element.setAttribute('unit', 'KiB');
    element.textContent = kib;
  }
  return serializeXml(document);
}
