import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OPTIONS } from '../../config';
import { projectRoot } from '../../config/project-root';

describe('README', () => {
  const readme = readFileSync(join(projectRoot(), 'README.md'), 'utf8');

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
    expect(readFileSync(join(projectRoot(), '.ci', 'run'), 'utf8')).toMatch(/^npm test$/m);
  });
});
