/**
 * How a control worker process is started: node with its old-generation heap bounded, so V8
 * collects garbage before the resident set grows by hundreds of MB, and glibc's malloc held to two
 * arenas (docs/control-worker.md, "Memory"). Everything ferry starts a control worker from (`ferry
 * dev`, the benchmarks, the tests) starts it this way, as bin/ferry does.
 */
import { join } from 'node:path';
import { projectRoot } from '../config/project-root';

/** The bound in MiB: about three times the heap a burst of migrations keeps live. */
export const CONTROL_HEAP_MB = 256;

/** node's arguments before the script, for a control worker. */
export const CONTROL_NODE_ARGS = [`--max-old-space-size=${CONTROL_HEAP_MB}`];

/** node's arguments that start `ferry control` from the compiled CLI (from dist/ or the sources). */
export function controlWorkerArgs(): string[] {
  return [...CONTROL_NODE_ARGS, join(projectRoot(), 'dist', 'cli', 'main.js'), 'control'];
}

/** The environment a control worker runs in: `env`, with malloc's arenas held to two. */
export function controlWorkerEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, MALLOC_ARENA_MAX: '2' };
}
