/**
 * What a subcommand is: its options, its help and its run function. Each
 * lives in one module under `lib/commands/` (the hook's run is the login
 * flow in main.ts); the table of them is `commands.ts`.
 *
 * @module
 */

import type { Config, Settings } from "../config/config.ts";
import type { ExitCode } from "../util/errors.ts";
import type { OptionSpecs, OptionValues } from "./args.ts";

/** Options every command takes. */
export const COMMON_OPTIONS = {
  debug: { kind: "boolean", help: "print stack traces with errors" },
  help: { kind: "boolean", short: "h", help: "print this help" },
} as const satisfies OptionSpecs;

/** A subcommand. */
export interface Command<O extends OptionSpecs = OptionSpecs> {
  name: string;
  /** One line, for `tattle --help`. */
  summary: string;
  /** What follows `tattle` in the usage line, e.g. `flush [OPTIONS]`. */
  usage: string;
  /** A paragraph, for `tattle <command> --help`. */
  description: string;
  /** The command's own options. */
  options: O;
  /** Whether it takes `--config` and a flag for each setting. */
  settings: boolean;
  /** The exit codes it uses, for its help. */
  exitCodes: string;
  run(context: CommandContext<O>): Promise<ExitCode>;
}

/** What a command is given to run. */
export interface CommandContext<O extends OptionSpecs = OptionSpecs> {
  /** The whole command line, as given (to run the command again as another account). */
  argv: string[];
  /** Its own options' values. */
  values: OptionValues<O>;
  /** Settings given as flags (win over the file). */
  settings: Settings;
  configPath: string;
  /** Whether `--config` named the file (then it must exist). */
  configExplicit: boolean;
  /** The settings' flags as given, for a process this one starts. */
  settingsArgs: string[];
  /**
   * Loads the config (once): the file, the flags, the trust check, and the
   * SDK settings that follow from it.
   */
  config(): Promise<Config>;
  /** When the process started, on the monotonic clock (`performance.now()`). */
  startedAt: number;
  /** Reports a line on stderr and to syslog. */
  log(line: string): void;
  /** Prints to stdout. */
  print(text: string): void;
}

/** Declares a command (keeps its options' types). */
export function command<O extends OptionSpecs>(spec: Command<O>): Command<O> {
  return spec;
}
