import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMMANDS, subcommandsOf } from '../../cli/command-list';
import { usageLine } from '../../cli/command-spec';
import { ferry, type CliResult } from '../support/ferry-cli';

/** stderr as a user sees a refusal: one line, after "ferry: ". */
function oneLine(result: CliResult): string {
  expect(result.stderr.startsWith('ferry: ')).toBe(true);
  expect(result.stderr.endsWith('\n')).toBe(true);
  expect(result.stderr.slice(0, -1)).not.toContain('\n');
  return result.stderr.slice('ferry: '.length, -1);
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const groups = [
  ...new Set(COMMANDS.filter((spec) => spec.name.includes(' ')).map((s) => s.name.split(' ')[0])),
];

/**
 * The built CLI's help, as a user asks for it, and its refusals of a mistyped option. Nothing here
 * gets past parsing, so the database (absent) is never opened.
 */
describe('ferry help', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-cli-help-'));
  const env = { FERRY_DATA_DIR: dir, FERRY_DATABASE_URL: `file:${join(dir, 'absent.db')}` };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  describe.each(COMMANDS.map((spec) => [spec.name, spec] as const))('ferry %s', (name, spec) => {
    const words = name.split(' ');

    it('prints the same help for --help and ferry help, on stdout, exit 0', async () => {
      const [viaOption, viaHelp] = await Promise.all([
        ferry([...words, '--help'], env),
        ferry(['help', ...words], env),
      ]);
      expect(viaOption).toEqual({ code: 0, stderr: '', stdout: viaHelp.stdout });
      expect(viaHelp).toMatchObject({ code: 0, stderr: '' });
      const lines = viaHelp.stdout.split('\n');
      expect(lines[0]).toBe(`usage: ${usageLine(spec)}`);
      for (const option of Object.keys(spec.options)) {
        const line = lines.find((text) => text.startsWith(`  --${option} `));
        expect({ option, line }).toEqual({
          option,
          line: expect.stringMatching(/\((default: .+|required)\)$/),
        });
      }
      expect(lines.slice(-3)).toEqual(['example:', `  ${spec.example}`, '']);
    });

    it('refuses an unknown option, and an option without its value, in one line, exit 2', async () => {
      const valued = Object.keys(spec.options).find((o) => spec.options[o].type === 'string');
      const [unknown, missing] = await Promise.all([
        ferry([...words, '--no-such-option'], env),
        valued && ferry([...words, `--${valued}`], { ...env, FERRY_DATABASE_URL: '' }),
      ]);
      expect(unknown).toMatchObject({ code: 2, stdout: '' });
      expect(oneLine(unknown)).toMatch(/^Unknown option '--no-such-option'/);
      if (missing) {
        expect(missing).toMatchObject({ code: 2, stdout: '' });
        expect(oneLine(missing)).toBe(`Option '--${valued} <value>' argument missing`);
      }
    });
  });

  it('takes --help after operands and options too', async () => {
    const result = await ferry(['hosts', 'drain', 'compute7', '--wait', '--help'], env);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout.split('\n')[0]).toMatch(/^usage: ferry hosts drain NAME /);
  });

  it('lists every command with its summary for ferry help and ferry --help', async () => {
    const [help, option] = await Promise.all([ferry(['help'], env), ferry(['--help'], env)]);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(option).toEqual(help);
    const lines = help.stdout.split('\n');
    for (const spec of COMMANDS) {
      const listed = new RegExp(`^ {2}${spec.name} +${escape(spec.summary)}$`);
      expect({ name: spec.name, listed: lines.some((line) => listed.test(line)) }).toEqual({
        name: spec.name,
        listed: true,
      });
    }
  });

  it.each(groups)('lists the subcommands of %s for help GROUP and GROUP --help', async (group) => {
    const [viaHelp, viaOption] = await Promise.all([
      ferry(['help', group], env),
      ferry([group, '--help'], env),
    ]);
    expect(viaOption).toEqual({ code: 0, stderr: '', stdout: viaHelp.stdout });
    const lines = viaHelp.stdout.split('\n');
    expect(lines[0]).toBe(`usage: ferry ${group} ${subcommandsOf(group).join('|')}`);
    for (const sub of subcommandsOf(group)) {
      expect(lines.some((line) => line.startsWith(`  ${group} ${sub} `))).toBe(true);
    }
  });

  it('refuses help for a command it does not have, in one line, exit 2', async () => {
    const [unknown, unknownSub] = await Promise.all([
      ferry(['help', 'teleport'], env),
      ferry(['help', 'hosts', 'teleport'], env),
    ]);
    expect(unknown).toMatchObject({ code: 2, stdout: '' });
    expect(oneLine(unknown)).toBe('unknown command "teleport" (ferry help lists the commands)');
    expect(unknownSub).toMatchObject({ code: 2, stdout: '' });
    expect(oneLine(unknownSub)).toBe(
      'unknown command "hosts teleport" (ferry help hosts lists its subcommands)',
    );
  });
});
