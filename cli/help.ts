/** The help texts, made from the command declarations (cli/command-list.ts). */
import { usageLine, type CommandSpec, type OptionSpec } from './command-spec';
import { COMMANDS, subcommandsOf } from './command-list';

/** An option's default in words: its shownDefault, else the parser's default. */
export function defaultOf(option: OptionSpec): string {
  if (option.shownDefault !== undefined) return option.shownDefault;
  if (typeof option.default === 'boolean') return option.default ? 'on' : 'off';
  if (Array.isArray(option.default)) return option.default.join(', ') || 'none';
  return option.default ?? 'none';
}

/** Two columns, the second lined up. */
function columns(rows: [string, string][]): string[] {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`);
}

/** `ferry COMMAND --help`: usage, summary, options with their defaults, an example. */
export function commandHelp(spec: CommandSpec): string {
  const options = Object.entries(spec.options).map(([name, option]): [string, string] => [
    option.type === 'boolean' ? `--${name}` : `--${name} ${option.value ?? 'VALUE'}`,
    `${option.description} (${option.required ? 'required' : `default: ${defaultOf(option)}`})`,
  ]);
  return [
    `usage: ${usageLine(spec)}`,
    '',
    spec.summary,
    '',
    options.length === 0 ? 'options: none' : ['options:', ...columns(options)].join('\n'),
    '',
    'example:',
    `  ${spec.example}`,
  ].join('\n');
}

/** `ferry hosts --help`: the group's subcommands with their summaries. */
export function groupHelp(group: string): string {
  const specs = COMMANDS.filter((spec) => spec.name.startsWith(`${group} `));
  return [
    `usage: ferry ${group} ${subcommandsOf(group).join('|')}`,
    '',
    ...columns(specs.map((spec) => [spec.name, spec.summary])),
    '',
    `ferry help ${group} SUBCOMMAND shows its options and an example`,
  ].join('\n');
}

/** `ferry help`: every command with its summary. */
export function overview(): string {
  return [
    'usage: ferry COMMAND',
    '',
    ...columns(COMMANDS.map((spec) => [spec.name, spec.summary])),
    '',
    'ferry help COMMAND (or ferry COMMAND --help) shows its usage, options and an example',
  ].join('\n');
}
