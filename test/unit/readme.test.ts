import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMMANDS } from '../../cli/command-list';
import { OPTIONS } from '../../config';
import { projectRoot } from '../../config/project-root';

const read = (...path: string[]) => readFileSync(join(projectRoot(), ...path), 'utf8');

/** The text of README's code: fenced blocks and inline code spans. */
function codeOf(markdown: string): string[] {
  const fenced = [...markdown.matchAll(/^```[a-z]*\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
  const prose = markdown.replace(/^```[a-z]*\n[\s\S]*?^```$/gm, '');
  const inline = [...prose.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]);
  return [...fenced, ...inline];
}

describe('README', () => {
  const readme = read('README.md');

  it('documents every configuration variable with its default', () => {
    for (const option of OPTIONS) {
      const cells = readme
        .split('\n')
        .map((line) => line.split('|').map((cell) => cell.trim()))
        .find((row) => row[1] === `\`${option.env}\``);
      expect(cells?.slice(2, 4)).toEqual([`\`${option.file}\``, option.shownDefault]);
    }
  });

  it('gives the test command that .ci/run runs', () => {
    expect(readme).toContain('npm test');
    expect(read('.ci', 'run')).toMatch(/^npm test$/m);
  });

  const shown = codeOf(readme).flatMap((code) => [
    ...code.matchAll(
      /(?<=^|[\s(`])ferry ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?((?:(?!ferry )[^|#\n])*)/gm,
    ),
  ]);
  /** The declaration a README line names: `ferry hosts drain ...` or `ferry live-migrate X ...`. */
  const declared = (command: string, sub: string | undefined) =>
    COMMANDS.find((spec) => spec.name === `${command} ${sub}`) ??
    COMMANDS.find((spec) => spec.name === command);

  it('shows only ferry commands, subcommands and options the CLI declares', () => {
    expect(shown.length).toBeGreaterThan(20);
    for (const [text, command, sub, rest] of shown) {
      const spec = declared(command, sub);
      expect({ text, command: spec?.name }).toEqual({ text, command: expect.any(String) });
      const words = spec?.name.split(' ').length === 2 ? rest : `${sub ?? ''}${rest}`;
      for (const [, option] of words.matchAll(/--([a-z][a-z-]*)/g)) {
        const known = spec !== undefined && option in spec.options;
        expect({ text, option, known }).toEqual({ text, option, known: true });
      }
    }
  });

  it('shows every command the CLI declares', () => {
    const named = new Set(shown.map(([, command, sub]) => declared(command, sub)?.name));
    for (const spec of COMMANDS) {
      expect({ command: spec.name, shown: named.has(spec.name) }).toEqual({
        command: spec.name,
        shown: true,
      });
    }
  });
});
