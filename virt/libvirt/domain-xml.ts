/**
 * libvirt XML (domain definitions, capabilities) as a DOM, through @xmldom/xmldom: parse, read or
 * change elements, serialize. Whatever is not changed (comments, CDATA, namespaced `<metadata>`,
 * whitespace) is written back as it was parsed (docs/libvirt-binding.md, Domain XML).
 */
import {
  DOMParser,
  XMLSerializer,
  onWarningStopParsing,
  type Document,
  type Element,
} from '@xmldom/xmldom';

export type { Element };

export class DomainXmlError extends Error {
  override readonly name = 'DomainXmlError';
}

/** The document in `xml`; throws DomainXmlError on anything not well-formed, warnings included. */
export function parseXml(xml: string): Document {
  try {
    return new DOMParser({ onError: onWarningStopParsing }).parseFromString(xml, 'text/xml');
  } catch (error) {
    throw new DomainXmlError(`not well-formed XML: ${(error as Error).message.split('\n')[0]}`);
  }
}

/** The `<domain>` root element of a domain definition. */
export function domainElement(document: Document): Element {
  const root = document.documentElement;
  if (root?.tagName !== 'domain') {
    throw new DomainXmlError('not a libvirt domain definition: no <domain> element');
  }
  return root;
}

/** The child elements of `parent` (only those named `tag` when given), in document order. */
export function childElements(parent: Element, tag?: string): Element[] {
  const children: Element[] = [];
  for (let node = parent.firstChild; node !== null; node = node.nextSibling) {
    if (
      node.nodeType === node.ELEMENT_NODE &&
      (tag === undefined || (node as Element).tagName === tag)
    ) {
      children.push(node as Element);
    }
  }
  return children;
}

/** The first child element of `parent` named `tag`, null when there is none. */
export function childElement(parent: Element | null, tag: string): Element | null {
  return parent ? (childElements(parent, tag)[0] ?? null) : null;
}

/** The attribute `name` of `element`, unescaped; null when the element or attribute is absent. */
export function attributeOf(element: Element | null, name: string): string | null {
  return element?.hasAttribute(name) ? element.getAttribute(name) : null;
}

/** The element's text, trimmed; null when the element is absent or its text is empty. */
export function textOf(element: Element | null): string | null {
  return element?.textContent?.trim() || null;
}

/** `node` (a document or one element) as XML text. */
export function serializeXml(node: Document | Element): string {
  return new XMLSerializer().serializeToString(node);
}
