import { parseCommand, usageLine, type OptionSpec } from '../../cli/command-spec';
import { COMMANDS } from '../../cli/command-list';
import { commandHelp } from '../../cli/help';
import { UsageError } from '../../cli/usage-error';

/** The words of an example after `ferry NAME`, quotes removed ("disk replacement" is one word). */
function exampleArgs(example: string, name: string): string[] {
  const words = [...example.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);
  expect(words.slice(0, 1 + name.split(' ').length).join(' ')).toBe(`ferry ${name}`);
  return words.slice(1 + name.split(' ').length);
}

/** What the help must say an option defaults to, worked out here rather than by cli/help.ts. */
function expectedDefault(option: OptionSpec): string {
  if (option.required) return 'required';
  if (option.shownDefault !== undefined) return `default: ${option.shownDefault}`;
  if (option.default === false) return 'default: off';
  if (Array.isArray(option.default) && option.default.length === 0) return 'default: none';
  if (typeof option.default === 'string') return `default: ${option.default}`;
  throw new Error(`no default declared: ${JSON.stringify(option)}`);
}

describe.each(COMMANDS.map((spec) => [spec.name, spec] as const))('ferry %s', (name, spec) => {
  it('has a help text with its usage, every option with its default, and an example', () => {
    const help = commandHelp(spec).split('\n');
    expect(help[0]).toBe(`usage: ${usageLine(spec)}`);
    expect(help[0].startsWith(`usage: ferry ${name}`)).toBe(true);
    expect(help).toContain(spec.summary);
    for (const [option, declared] of Object.entries(spec.options)) {
      const line = help.find(
        (text) => text.startsWith(`  --${option} `) || text === `  --${option}`,
      );
      expect({ option, line }).toEqual({
        option,
        line: expect.stringContaining(declared.description),
      });
      expect({ option, line }).toEqual({
        option,
        line: expect.stringMatching(new RegExp(`\\(${escape(expectedDefault(declared))}\\)$`)),
      });
      expect(help[0]).toContain(`--${option}`);
    }
    expect(help.slice(-2)).toEqual(['example:', `  ${spec.example}`]);
  });

  it('parses its own example', () => {
    const args = exampleArgs(spec.example, name);
    const parsed = parseCommand(spec, args);
    for (const [option, declared] of Object.entries(spec.options)) {
      if (declared.required)
        expect({ option, given: parsed.values[option] }).not.toEqual({ option, given: undefined });
    }
    const operands = spec.operands === '' ? 0 : spec.operands.split(' ').length;
    expect(parsed.positionals.length).toBe(operands);
  });

  it('refuses an unknown option and every option without its value as usage errors', () => {
    expect(() => parseCommand(spec, ['--no-such-option'])).toThrow(UsageError);
    expect(() => parseCommand(spec, ['--no-such-option'])).toThrow(
      /^Unknown option '--no-such-option'/,
    );
    for (const [option, declared] of Object.entries(spec.options)) {
      if (declared.type !== 'string') continue;
      expect(() => parseCommand(spec, [`--${option}`])).toThrow(
        new UsageError(`Option '--${option} <value>' argument missing`),
      );
    }
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
