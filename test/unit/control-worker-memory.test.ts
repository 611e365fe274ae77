/**
 * What keeps the control worker's memory bounded (docs/control-worker.md, "Memory"): the workflow
 * bundle it loads instead of bundling at start, used only while it matches the workflows, and the
 * heap bound and malloc arenas bin/ferry starts every control worker with.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { projectRoot } from '../../config/project-root';
import {
  CONTROL_NODE_ARGS,
  controlWorkerArgs,
  controlWorkerEnv,
} from '../../worker/control-process';
import { workflowCode, writeWorkflowBundle } from '../../worker/workflow-bundle';

function recordingLogger(): { logger: pino.Logger; warnings: string[] } {
  const warnings: string[] = [];
  const logger = pino(
    { level: 'warn' },
    { write: (line: string) => warnings.push((JSON.parse(line) as { msg: string }).msg) },
  );
  return { logger, warnings };
}

describe('the workflow bundle', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'ferry-bundle-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is loaded once written, and written only once for the same workflows', async () => {
    const { logger, warnings } = recordingLogger();
    expect(await writeWorkflowBundle(dir)).toBe('written');
    expect(await writeWorkflowBundle(dir)).toBe('current');
    expect(workflowCode(logger, dir)).toEqual({
      workflowBundle: { codePath: join(dir, 'workflows.js') },
    });
    expect(readFileSync(join(dir, 'workflows.js'), 'utf8')).toContain('liveMigration');
    expect(warnings).toEqual([]);
  }, 60_000);

  it('is passed over, with a warning, when missing or made from other workflows', async () => {
    const { logger, warnings } = recordingLogger();
    expect(workflowCode(logger, dir)).toHaveProperty('workflowsPath');
    await writeWorkflowBundle(dir);
    writeFileSync(join(dir, 'workflows.sha256'), `${'0'.repeat(64)}\n`);
    expect(workflowCode(logger, dir)).toHaveProperty('workflowsPath');
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/bundle is missing or older/);
    expect(await writeWorkflowBundle(dir)).toBe('written');
  }, 60_000);
});

describe("the control worker's memory bounds", () => {
  it('are on bin/ferry and on every control worker ferry starts', () => {
    const shebang = readFileSync(join(projectRoot(), 'bin', 'ferry'), 'utf8').split('\n')[0];
    const { MALLOC_ARENA_MAX } = controlWorkerEnv({ FERRY_LOG_LEVEL: 'warn' });
    expect(shebang).toBe(
      `#!/usr/bin/env -S MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX} node ${CONTROL_NODE_ARGS.join(' ')}`,
    );
    expect(controlWorkerArgs()).toEqual([
      ...CONTROL_NODE_ARGS,
      join(projectRoot(), 'dist', 'cli', 'main.js'),
      'control',
    ]);
    expect(controlWorkerEnv({ FERRY_LOG_LEVEL: 'warn' })).toEqual({
      FERRY_LOG_LEVEL: 'warn',
      MALLOC_ARENA_MAX: '2',
    });
  });
});
