/**
 * Help texts: tattle's and each command's (pure).
 *
 * @module
 */

import { formatOptions, type OptionSpecs } from "./args.ts";
import type { Command } from "./command.ts";
import { SETUP_LINE } from "../setup/pam_line.ts";

/** `tattle --help`. */
export function toolHelp(commands: Array<Pick<Command, "name" | "summary">>): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return `Usage: tattle [COMMAND] [OPTIONS]

Reports SSH session opens and closes to Amazon EventBridge. PAM runs it, as
tattle setup --pam writes it in /etc/pam.d/sshd:
  ${SETUP_LINE}

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`).join("\n")}

Run tattle COMMAND --help for a command's options and exit codes.
  --version   print the version
  -h, --help  print this help`;
}

/** `tattle COMMAND --help`. */
export function commandHelp(command: Command, options: OptionSpecs): string {
  return `Usage: tattle ${command.usage}

${command.description}

Options:
${formatOptions(options)}

Exit codes: ${command.exitCodes}`;
}

/** The one-line usage of a command, for errors. */
export function usageLine(command: Command): string {
  return `usage: tattle ${command.usage} (see tattle ${command.name} --help)`;
}
