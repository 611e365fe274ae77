import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
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

/** The words a handler compares its first argument against (`case 'x'`, `sub === 'x'`). */
function subcommandsIn(source: string): string[] {
  return [...source.matchAll(/(?:case |sub === |args\[0\] !== )'([a-z-]+)'/g)].map((m) => m[1]);
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

  it('shows only ferry commands, subcommands and options the CLI has', () => {
    const main = read('cli', 'main.ts');
    const commands = subcommandsIn(main);
    const withSubcommands: Record<string, string[]> = {
      hosts: subcommandsIn(read('cli', 'commands', 'hosts.ts')),
      instances: subcommandsIn(read('cli', 'commands', 'instances.ts')),
      migrations: subcommandsIn(read('cli', 'commands', 'migrations.ts')),
      flavors: subcommandsIn(read('cli', 'commands', 'flavors.ts')),
      lab: subcommandsIn(read('cli', 'commands', 'lab.ts')),
      db: ['migrate'],
    };
    const cliSource = readdirSync(join(projectRoot(), 'cli', 'commands'))
      .map((file) => read('cli', 'commands', file))
      .concat(main)
      .join('\n');
    const shown = codeOf(readme).flatMap((code) => [
      ...code.matchAll(/(?:^|[\s(`])ferry ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?([^|#\n]*)/gm),
    ]);
    expect(shown.length).toBeGreaterThan(20);
    for (const [text, command, sub, rest] of shown) {
      expect({ text, known: commands.includes(command) }).toEqual({ text, known: true });
      if (withSubcommands[command]) {
        expect({ text, known: withSubcommands[command].includes(sub) }).toEqual({
          text,
          known: true,
        });
      }
      for (const [, option] of rest.matchAll(/--([a-z][a-z-]*)/g)) {
        const known = cliSource.includes(`'${option}'`) || cliSource.includes(` ${option}: {`);
        expect({ text, option, known }).toEqual({ text, option, known: true });
      }
    }
  });
});
