/** Every command the CLI dispatches, as declared; the help and the README check read this list. */
import type { CommandSpec } from './command-spec';
import { UsageError } from './usage-error';
import * as main from './commands/main-spec';
import * as hosts from './commands/hosts-spec';
import * as drains from './commands/drains-spec';
import * as inventory from './commands/inventory-spec';
import * as moves from './commands/moves-spec';
import * as evacuate from './commands/evacuate-spec';
import * as lab from './commands/lab-spec';

/** In the order `ferry help` lists them. */
export const COMMANDS: readonly CommandSpec[] = [
  main.DEV,
  main.CONTROL,
  main.AGENT,
  main.API,
  hosts.HOSTS_ADD,
  hosts.HOSTS_LIST,
  hosts.HOSTS_REFRESH,
  hosts.HOSTS_DISABLE,
  hosts.HOSTS_ENABLE,
  hosts.HOSTS_FORCE_DOWN,
  hosts.HOSTS_FORCE_UP,
  drains.HOSTS_DRAIN,
  drains.HOSTS_UNDRAIN,
  evacuate.HOSTS_EVACUATE,
  drains.DRAINS_LIST,
  drains.DRAINS_SHOW,
  inventory.INSTANCES_LIST,
  inventory.INSTANCES_SHOW,
  inventory.INSTANCES_IMPORT,
  inventory.MIGRATIONS_LIST,
  inventory.MIGRATIONS_SHOW,
  inventory.FLAVORS_LIST,
  inventory.FLAVORS_CREATE,
  moves.LIVE_MIGRATE,
  moves.ABORT,
  moves.FORCE_COMPLETE,
  moves.MIGRATE,
  moves.RESIZE,
  moves.CONFIRM,
  moves.REVERT,
  evacuate.EVACUATE,
  lab.LAB_UP,
  lab.LAB_DOWN,
  lab.LAB_STATUS,
  lab.LAB_GUEST,
  lab.LAB_KILL_HOST,
  lab.LAB_RESTART_HOST,
  main.DB_MIGRATE,
  main.CONFIG,
  main.HELP,
];

/** The subcommands of a group such as `hosts`, in declaration order; [] for a plain command. */
export function subcommandsOf(group: string): string[] {
  return COMMANDS.filter((spec) => spec.name.startsWith(`${group} `)).map(
    (spec) => spec.name.split(' ')[1],
  );
}

/** `usage: ferry hosts add|list|...`: a group given no subcommand, or one it does not have. */
export function groupUsageError(group: string): UsageError {
  return new UsageError(`usage: ferry ${group} ${subcommandsOf(group).join('|')}`);
}

/**
 * What `ferry help WORDS` is about: a command's declaration, or a group's name; a UsageError when
 * WORDS name neither.
 */
export function findCommand(words: string[]): CommandSpec | string {
  const [command, sub] = words;
  const plain = COMMANDS.find((spec) => spec.name === command);
  if (plain) return plain;
  if (subcommandsOf(command).length === 0) {
    throw new UsageError(`unknown command "${command}" (ferry help lists the commands)`);
  }
  if (sub === undefined) return command;
  const spec = COMMANDS.find((candidate) => candidate.name === `${command} ${sub}`);
  if (!spec) {
    throw new UsageError(
      `unknown command "${command} ${sub}" (ferry help ${command} lists its subcommands)`,
    );
  }
  return spec;
}
