import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The directory holding ferry's package.json, found from this file whether run from source or dist/. */
export function projectRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`ferry: no package.json above ${__dirname}`);
    dir = parent;
  }
  return dir;
}
