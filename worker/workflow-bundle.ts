/**
 * The workflows' code as the control worker loads it: bundled once by `npm run build` (and
 * scripts/bootstrap) into dist/workflow-bundle/, not by webpack inside every control worker at
 * start, which costs seconds and about 115 MB of resident memory for the life of the process
 * (docs/control-worker.md, "Memory"). The bundle carries the digest of the compiled workflows it
 * was made from; a control worker whose compiled workflows no longer match bundles them itself,
 * so it never runs stale workflow code.
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { bundleWorkflowCode, type WorkerOptions } from '@temporalio/worker';
import { projectRoot } from '../config/project-root';
import type { Logger } from '../config/logging';

const WORKFLOWS_PATH = require.resolve('../workflows');
/** Where the build writes the bundle, and the control worker looks for it. */
const BUNDLE_DIR = join(projectRoot(), 'dist', 'workflow-bundle');

const bundleFile = (dir: string) => join(dir, 'workflows.js');
const digestFile = (dir: string) => join(dir, 'workflows.sha256');

/** The workflows' files (the bundle's only inputs besides the SDK), relative to `dir`. */
function workflowFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => statSync(join(dir, file)).isFile())
    .sort();
}

/** Digest of the compiled workflows and the workflow SDK's version: what a bundle was made from. */
function workflowsDigest(): string {
  const hash = createHash('sha256');
  const sdk = require.resolve('@temporalio/workflow/package.json');
  hash.update(
    `@temporalio/workflow ${(JSON.parse(readFileSync(sdk, 'utf8')) as { version: string }).version}\n`,
  );
  const dir = dirname(WORKFLOWS_PATH);
  for (const file of workflowFiles(dir)) {
    hash.update(`${file}\n`);
    hash.update(readFileSync(join(dir, file)));
  }
  return hash.digest('hex');
}

function bundleIsCurrent(dir: string, digest: string): boolean {
  const recorded = digestFile(dir);
  return (
    existsSync(bundleFile(dir)) &&
    existsSync(recorded) &&
    readFileSync(recorded, 'utf8').trim() === digest
  );
}

/** Bundles the compiled workflows into `dir` unless the bundle there is current. */
export async function writeWorkflowBundle(dir = BUNDLE_DIR): Promise<'written' | 'current'> {
  const digest = workflowsDigest();
  if (bundleIsCurrent(dir, digest)) return 'current';
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH });
  mkdirSync(dir, { recursive: true });
  const bundle = bundleFile(dir);
  writeFileSync(`${bundle}.tmp`, code);
  renameSync(`${bundle}.tmp`, bundle);
  writeFileSync(digestFile(dir), `${digest}\n`);
  return 'written';
}

/** The worker option naming the workflows: the bundle in `dir` when current, else the sources. */
export function workflowCode(
  logger: Logger,
  dir = BUNDLE_DIR,
): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  if (bundleIsCurrent(dir, workflowsDigest())) {
    return { workflowBundle: { codePath: bundleFile(dir) } };
  }
  logger.warn(
    { bundle: bundleFile(dir) },
    'the workflow bundle is missing or older than the compiled workflows: bundling them at start ' +
      '(slower, and more memory for the life of the process); npm run build makes it',
  );
  return { workflowsPath: WORKFLOWS_PATH };
}
