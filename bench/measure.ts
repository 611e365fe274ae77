/** What the benchmarks share: progress lines, paced runs, child processes. */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** A progress line on stderr (stdout carries the result). */
export const log = (message: string) => process.stderr.write(`${message}\n`);

/** A command-line option's value as a positive number; fails naming the option. */
export function positiveNumber(option: string, value: string | undefined): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new Error(`--${option}: a positive number, not ${value}`);
  return n;
}

/** Runs `task` for every item, at most `concurrency` at a time or `rate` starts per second. */
export async function runAll<T, R>(
  items: T[],
  task: (item: T) => Promise<R>,
  pace: { concurrency: number } | { rate: number },
): Promise<R[]> {
  if ('rate' in pace) {
    const begin = performance.now();
    return Promise.all(
      items.map(async (item, i) => {
        await sleep(Math.max(0, begin + (1000 * i) / pace.rate - performance.now()));
        return task(item);
      }),
    );
  }
  const results: R[] = [];
  let next = 0;
  const lanes = Array.from({ length: pace.concurrency }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]);
    }
  });
  await Promise.all(lanes);
  return results;
}

/** SIGTERM, then SIGKILL after 10 s. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(10_000)]);
  child.kill('SIGKILL');
}

/** The peak resident set (VmHWM) of a running process, in MB. */
export function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return Math.round(kb / 1024);
}

/** The CPU time (user + system) a running process has used so far, in ms. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticksPerSecond = 100;
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
}

/** This process's CPU time (user + system) so far, in ms. */
export function ownCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** What a benchmark run started, undone last first; an undo that fails is logged, the rest run. */
export class Cleanups {
  private readonly steps: (() => Promise<unknown>)[] = [];

  add(step: () => Promise<unknown>): void {
    this.steps.unshift(step);
  }

  async run(): Promise<void> {
    for (const step of this.steps) await step().catch((error: unknown) => log(String(error)));
  }
}
