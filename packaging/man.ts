/**
 * tattle(8), made from the same text as `tattle --help` and each command's
 * `--help`, so the two never disagree (pure, but for loading the commands).
 *
 * @module
 */

import type { Command } from "../lib/cli/command.ts";
import { commandHelp, toolHelp } from "../lib/cli/help.ts";
import { allCommands } from "../lib/cli/run.ts";
import { HOOK } from "../lib/commands/hook.ts";

/** Text as roff shows it literally: backslashes escaped, no line read as a request. */
export function roffLiteral(text: string): string {
  return text.split("\n").map((line) => {
    const escaped = line.replaceAll("\\", "\\e");
    return /^[.']/.test(escaped) ? `\\&${escaped}` : escaped;
  }).join("\n");
}

/** The page, for `version`, dated `date` (YYYY-MM-DD). */
export async function manPage(version: string, date: string): Promise<string> {
  const hook = { ...HOOK, run: () => Promise.reject(new Error("not run")) } as Command;
  const [, ...commands] = await allCommands(hook);
  const section = (command: Command) =>
    [
      `.SS ${command.name === hook.name ? "tattle (the hook)" : `tattle ${command.name}`}`,
      ".nf",
      roffLiteral(commandHelp(command)),
      ".fi",
    ].join("\n");
  return [
    `.TH TATTLE 8 "${date}" "tattle ${version}" "System Administration"`,
    ".SH NAME",
    "tattle \\- report SSH logins and logouts to Amazon EventBridge",
    ".SH SYNOPSIS",
    ".B tattle",
    "[\\fICOMMAND\\fR] [\\fIOPTIONS\\fR]",
    ".SH DESCRIPTION",
    ".nf",
    roffLiteral(toolHelp([hook, ...commands])),
    ".fi",
    ".SH COMMANDS",
    section(hook),
    ...commands.map(section),
    ".SH FILES",
    ".TP",
    ".I /etc/tattle/config.json",
    "the configuration (a conffile: upgrades keep an operator's edits)",
    ".TP",
    ".I /var/spool/tattle",
    "events waiting to be sent, owned by the tattle account",
    ".SH SEE ALSO",
    "pam_exec(8), systemd.socket(5), /usr/share/doc/tattle/README.md.gz",
    "",
  ].join("\n");
}
