/** Long-lived lab processes: started detached, found again by pid, stopped by pid. */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** Starts a process that outlives the caller, its output appended to `logFile`; returns its pid. */
export function spawnDetached(argv: string[], logFile: string): number {
  const [program, ...args] = argv;
  const log = openSync(logFile, 'a');
  try {
    const child = spawn(program, args, { detached: true, stdio: ['ignore', log, log] });
    child.unref();
    if (child.pid === undefined) throw new Error(`lab: could not start ${program}`);
    return child.pid;
  } finally {
    closeSync(log);
  }
}

/** The process's command line, or undefined when it is gone (zombies count as gone). */
export function commandLine(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return undefined;
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  return commandLine(pid) !== undefined;
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(`lab: timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await sleep(50);
  }
}

function signal(pids: number[], name: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, name);
    } catch {
      // already gone
    }
  }
}

/** SIGTERM, then SIGKILL to whatever still runs after `graceMs`; resolves once all are gone. */
export async function stopProcesses(pids: number[], graceMs = 3_000): Promise<void> {
  const living = (): number[] => pids.filter(isAlive);
  signal(living(), 'SIGTERM');
  const calm = await waitFor(
    'processes to exit',
    () => (living().length === 0 ? true : undefined),
    graceMs,
  ).catch(() => false);
  if (calm) return;
  signal(living(), 'SIGKILL');
  await waitFor('processes to die', () => (living().length === 0 ? true : undefined), 5_000);
}
