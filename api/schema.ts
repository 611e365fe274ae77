import { badRequest } from './errors';

/**
 * A JSON Schema subset, enough for Nova's request bodies: objects with required and unexpected
 * properties, strings with length and pattern, integers, enums and null (`nullable` also allows
 * null). Nova validates with jsonschema; the messages here follow its wording.
 */
export type Schema =
  | {
      type: 'object';
      properties: Record<string, Schema>;
      required?: readonly string[];
      nullable?: true;
    }
  | { type: 'string'; minLength?: number; maxLength?: number; pattern?: RegExp; nullable?: true }
  | { type: 'integer'; minimum?: number; maximum?: number }
  | { type: 'boolean' }
  | { type: 'array'; items: Schema; maxItems?: number }
  | { type: 'null' }
  | { enum: readonly unknown[]; describe: string }
  | { anyOf: readonly Schema[]; describe: string };

/** Shows a value in a message: JSON, cut at 200 characters. */
function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** Why `value` does not fit `schema`, with the path of the offending field; null when it fits. */
function check(schema: Schema, value: unknown, path: string): { path: string; why: string } | null {
  const wrongType = (expected: string, nullable?: true) => ({
    path,
    why: `${show(value)} is not of type '${expected}'${nullable ? ", 'null'" : ''}`,
  });
  if ('enum' in schema) {
    return schema.enum.includes(value)
      ? null
      : { path, why: `${show(value)} is not ${schema.describe}` };
  }
  if ('anyOf' in schema) {
    const failures = schema.anyOf.map((option) => check(option, value, path));
    if (failures.some((failure) => failure === null)) return null;
    return (
      failures.find((failure) => failure?.path !== path) ?? {
        path,
        why: `${show(value)} is not ${schema.describe}`,
      }
    );
  }
  switch (schema.type) {
    case 'null':
      return value === null ? null : wrongType('null');
    case 'integer':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) return wrongType('integer');
      if (schema.minimum !== undefined && value < schema.minimum) {
        return { path, why: `${value} is less than the minimum of ${schema.minimum}` };
      }
      if (schema.maximum !== undefined && value > schema.maximum) {
        return { path, why: `${value} is greater than the maximum of ${schema.maximum}` };
      }
      return null;
    case 'boolean':
      return typeof value === 'boolean' ? null : wrongType('boolean');
    case 'array': {
      if (!Array.isArray(value)) return wrongType('array');
      if (schema.maxItems !== undefined && value.length > schema.maxItems) {
        return { path, why: `${show(value)} is too long (at most ${schema.maxItems} items)` };
      }
      for (const [index, item] of value.entries()) {
        const failure = check(schema.items, item, `${path}.${index}`);
        if (failure) return failure;
      }
      return null;
    }
    case 'string':
      if (value === null && schema.nullable) return null;
      if (typeof value !== 'string') return wrongType('string', schema.nullable);
      if (schema.minLength !== undefined && value.length < schema.minLength) {
        return {
          path,
          why: `${show(value)} is too short (at least ${schema.minLength} characters)`,
        };
      }
      if (schema.maxLength !== undefined && value.length > schema.maxLength) {
        return { path, why: `${show(value)} is too long (at most ${schema.maxLength} characters)` };
      }
      if (schema.pattern && !schema.pattern.test(value)) {
        return { path, why: `${show(value)} does not match '${schema.pattern.source}'` };
      }
      return null;
    case 'object': {
      if (value === null && schema.nullable) return null;
      if (typeName(value) !== 'object') return wrongType('object', schema.nullable);
      const object = value as Record<string, unknown>;
      const missing = (schema.required ?? []).find((key) => !(key in object));
      if (missing !== undefined) return { path, why: `'${missing}' is a required property` };
      const unexpected = Object.keys(object).filter((key) => !(key in schema.properties));
      if (unexpected.length > 0) {
        const names = unexpected.map((key) => `'${key}'`).join(', ');
        return {
          path,
          why: `Additional properties are not allowed (${names} ${unexpected.length > 1 ? 'were' : 'was'} unexpected)`,
        };
      }
      for (const [key, property] of Object.entries(schema.properties)) {
        if (!(key in object)) continue;
        const failure = check(property, object[key], path === '' ? key : `${path}.${key}`);
        if (failure) return failure;
      }
      return null;
    }
  }
}

/** Throws 400 (badRequest) naming the first field of `body` that does not fit `schema`. */
export function validate(schema: Schema, body: unknown): void {
  const failure = check(schema, body, '');
  if (failure) {
    const field = failure.path === '' ? 'body' : failure.path;
    let value: unknown = body;
    for (const key of failure.path === '' ? [] : failure.path.split('.')) {
      value = (value as Record<string, unknown>)[key];
    }
    throw badRequest(
      `Invalid input for field/attribute ${field}. Value: ${show(value)}. ${failure.why}`,
    );
  }
}

/** Nova's parameter_types.boolean: a JSON boolean or one of the strings bool_from_string takes. */
const TRUE_STRINGS = ['True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes'];
const FALSE_STRINGS = ['False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no'];
export const BOOLEAN_VALUES: readonly unknown[] = [true, false, ...TRUE_STRINGS, ...FALSE_STRINGS];

/** The boolean a value of BOOLEAN_VALUES stands for. */
export function asBoolean(value: unknown): boolean {
  return value === true || TRUE_STRINGS.includes(value as string);
}

/** Nova's parameter_types.fqdn, as a destination host is named (null allowed). */
export const HOST_NAME: Schema = {
  type: 'string',
  minLength: 1,
  maxLength: 255,
  pattern: /^[a-zA-Z0-9-._]*$/,
  nullable: true,
};
