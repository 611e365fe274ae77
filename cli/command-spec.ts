import { parseArgs } from 'node:util';
import { UsageError } from './usage-error';

/** One option of a command: what the parser needs, and what its help says. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  /** The parser's default, shown in the help. */
  default?: string | boolean | string[];
  /** The default the command (not the parser) supplies, in words: "max_concurrent_live_migrations". */
  shownDefault?: string;
  /** The value's placeholder in the usage line: N, HOST, auto|true|false. */
  value?: string;
  /** Shown without brackets in the usage line; the command checks it with its own message. */
  required?: boolean;
  description: string;
}

/**
 * A command's one declaration: the parser's configuration, the usage line, the help text and the
 * README check are all made from it (docs/cli.md).
 */
export interface CommandSpec<O extends Record<string, OptionSpec> = Record<string, OptionSpec>> {
  /** The words that select it: 'live-migrate', 'hosts drain'. */
  name: string;
  /** Its positional arguments as the usage line shows them: 'NAME', 'NAME|ID', '' for none. */
  operands: string;
  summary: string;
  options: O;
  example: string;
}

export function defineCommand<const O extends Record<string, OptionSpec>>(
  spec: CommandSpec<O>,
): CommandSpec<O> {
  return spec;
}

/** `ferry NAME OPERANDS [--option VALUE] ...`: made from the options, in declaration order. */
export function usageLine(spec: CommandSpec): string {
  const options = Object.entries(spec.options).map(([name, option]) => {
    const shown = option.type === 'boolean' ? `--${name}` : `--${name} ${option.value ?? 'VALUE'}`;
    if (option.required) return shown;
    return option.multiple ? `[${shown} ...]` : `[${shown}]`;
  });
  return ['ferry', spec.name, spec.operands, ...options].filter(Boolean).join(' ');
}

/** The usage error of a command given the wrong operands. */
export function usageError(spec: CommandSpec): UsageError {
  return new UsageError(`usage: ${usageLine(spec)}`);
}

type Parsed<O extends Record<string, OptionSpec>> = ReturnType<
  typeof parseArgs<{ args: string[]; allowPositionals: boolean; options: O }>
>;

/**
 * node:util's parseArgs configured by the declaration; its complaints (an unknown option, a
 * missing value, an operand where none is taken) as one-line usage errors.
 */
export function parseCommand<O extends Record<string, OptionSpec>>(
  spec: CommandSpec<O>,
  args: string[],
): Parsed<O> {
  const options = Object.fromEntries(
    Object.entries(spec.options).map(([name, option]) => [
      name,
      {
        type: option.type,
        ...(option.multiple ? { multiple: true } : {}),
        ...(option.default === undefined ? {} : { default: option.default }),
      },
    ]),
  ) as O;
  try {
    return parseArgs({ args, allowPositionals: spec.operands !== '', options });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** `--json`, which most commands take. */
export const JSON_OUTPUT = {
  type: 'boolean',
  default: false,
  description: 'print JSON instead of text',
} as const;
