/**
 * What a resize reads from and changes in a domain's persistent XML besides what the live
 * migration reads (live-migration-xml.ts): its UUID, and its size (vCPUs and memory).
 * libvirt writes this XML itself, in a regular form, which these patterns rely on; `<metadata>` is
 * never looked into, since it may hold elements of any name.
 */
import type { InstanceSize } from '../../workflows/operation-types';

export class DomainXmlError extends Error {
  override readonly name = 'DomainXmlError';
}

/** The `<domain>` element's text with `<metadata>` blanked out (same length, so offsets hold). */
function searchable(xml: string): string {
  if (!/<domain\b[^>]*>[\s\S]*<\/domain>/.test(xml)) {
    throw new DomainXmlError('not a libvirt domain definition: no <domain> element');
  }
  return xml.replace(/<metadata\b[^>]*>[\s\S]*?<\/metadata>|<metadata\b[^>]*\/>/g, (metadata) =>
    ' '.repeat(metadata.length),
  );
}

/** The domain's UUID, lower-case. */
export function domainUuid(xml: string): string {
  const uuid = /<uuid>\s*([^<\s]+)\s*<\/uuid>/.exec(searchable(xml));
  if (!uuid) throw new DomainXmlError('the domain definition has no <uuid>');
  return uuid[1].toLowerCase();
}

/**
 * Replaces the first top-level `<tag ...>text</tag>` (text only, no child elements) outside
 * `<metadata>` with `replacement`; null when there is none.
 */
function replaceElement(xml: string, tag: string, replacement: string): string | null {
  const match = new RegExp(`<${tag}\\b[^>]*>[^<]*</${tag}>`).exec(searchable(xml));
  if (!match) return null;
  return xml.slice(0, match.index) + replacement + xml.slice(match.index + match[0].length);
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
  const vcpu = /<vcpu\b([^>]*)>[^<]*<\/vcpu>/.exec(searchable(xml));
  if (!vcpu) throw new DomainXmlError('the domain definition has no <vcpu> element');
  const vcpuAttributes = vcpu[1].replace(/\s+current=(['"]).*?\1/, '');
  let resized = replaceElement(xml, 'vcpu', `<vcpu${vcpuAttributes}>${size.vcpus}</vcpu>`);
  const kib = size.memoryMiB * 1024;
  const memory = `<memory unit='KiB'>${kib}</memory>`;
  const currentMemory = `<currentMemory unit='KiB'>${kib}</currentMemory>`;
  resized = resized && replaceElement(resized, 'memory', memory);
  if (resized === null) throw new DomainXmlError('the domain definition has no <memory> element');
  return (
    replaceElement(resized, 'currentMemory', currentMemory) ??
    (replaceElement(resized, 'memory', `${memory}\n  ${currentMemory}`) as string)
  );
}
