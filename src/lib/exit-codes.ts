// The one exit-code table, the same meaning in every Twill program (twillctl, twill-bgp,
// twill-node, twill-ipam, and the programs to come). Scripts may rely on it.
//
//   0  ok
//   1  failed: the input was wrong (a manifest that does not validate, an object missing or
//      already there, a conflict) or the work failed while running; `twillctl verify`: the
//      kernel differs from the agent's desired state (its issue asked for 1)
//   2  usage: the command line is wrong (unknown command or option, a missing or bad argument),
//      or the config file it names is
//   3  unreachable: a dependency could not be reached (the datastore, whose address the message
//      names, or whose file another process holds; a daemon's API)
//   4  problems: a check ran and found problems (twillctl ipam check)
//
// A CNI plugin's answer is its JSON on stdout; its exit code is 0 or 1 (the CNI spec).
import { CommanderError } from 'commander';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_UNREACHABLE = 3;
export const EXIT_PROBLEMS = 4;

/**
 * The exit code a commander parse error ends with: 0 after --help / --version, else usage
 * (commander has already printed what was wrong). Undefined for any other error.
 */
export function commanderExitCode(e: unknown): number | undefined {
  if (!(e instanceof CommanderError)) return undefined;
  return e.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
}
