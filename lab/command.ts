/** Running the lab's tools: argument vectors only, never a shell string. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface RunOptions {
  cwd?: string;
  timeoutMs?: number;
}

/** Runs a program and returns its standard output; rejects with its standard error on failure. */
export async function run(
  program: string,
  args: string[],
  options: RunOptions = {},
): Promise<string> {
  try {
    const { stdout } = await execFileAsync(program, args, {
      cwd: options.cwd,
      timeout: options.timeoutMs ?? 60_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const failure = error as Error & { stderr?: string };
    const detail = failure.stderr?.trim() || failure.message;
    throw new Error(`${program} ${args.join(' ')}: ${detail}`);
  }
}

/** Anything naming a host shell: a LabHost, or a host being started. */
export interface ShellOwner {
  pids: { shell: number };
}

/** The argument vector that runs `argv` inside a host's network, mount and UTS namespaces. */
export function hostCommand(host: ShellOwner, argv: string[]): string[] {
  return ['nsenter', '-t', String(host.pids.shell), '-n', '-m', '-u', '--', ...argv];
}

export async function runInHost(
  host: ShellOwner,
  argv: string[],
  options: RunOptions = {},
): Promise<string> {
  const [program, ...args] = hostCommand(host, argv);
  return run(program, args, options);
}
