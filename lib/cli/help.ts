/**
 * Help texts: tattle's and each command's (pure), wrapped at
 * {@link HELP_WIDTH} columns. A command's own options come first; the flags
 * that set config keys, shared by every command that reads the config,
 * follow in a short group.
 *
 * @module
 */

import { formatOptions, type OptionSpecs } from "./args.ts";
import { type Command, COMMON_OPTIONS } from "./command.ts";
import { CONFIG_OPTION, SETTINGS_OPTIONS } from "./settings_flags.ts";
import { SETUP_LINE } from "../setup/pam_line.ts";

/** The widest line help prints. */
export const HELP_WIDTH = 100;

/**
 * `text` wrapped at `width` columns, every line after the first indented by
 * `indent` spaces (words longer than a line stay whole).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { wrap } from "./help.ts";
 * assert.equal(wrap("one two three", 8, 2), "one two\n  three");
 * ```
 */
export function wrap(text: string, width = HELP_WIDTH, indent = 0): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const candidate = line === "" ? word : `${line} ${word}`;
    const room = width - (lines.length === 0 ? 0 : indent);
    if (candidate.length > room && line !== "") {
      lines.push(line);
      line = word;
    } else {
      line = candidate;
    }
  }
  lines.push(line);
  return lines.map((l, i) => (i === 0 ? l : `${" ".repeat(indent)}${l}`)).join("\n");
}

/** `tattle --help`. */
export function toolHelp(commands: Array<Pick<Command, "name" | "summary">>): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return `Usage: tattle [COMMAND] [OPTIONS]

${
    wrap(
      "Reports SSH session opens and closes to Amazon EventBridge. PAM runs it from " +
        "/etc/pam.d/sshd, on this line (one line in the file), which tattle setup --pam writes:",
    )
  }
  ${wrap(SETUP_LINE, HELP_WIDTH - 2, 4)}

Commands:
${
    commands.map((c) =>
      `  ${c.name.padEnd(width)}${wrap(c.summary, HELP_WIDTH - 2 - width, 2 + width)}`
    ).join("\n")
  }

Run tattle COMMAND --help for a command's options and exit codes.
  --version   print the version
  -h, --help  print this help`;
}

/** `tattle COMMAND --help`. */
export function commandHelp(command: Command): string {
  const own: OptionSpecs = { ...command.options, ...COMMON_OPTIONS };
  const sections = [
    `Usage: tattle ${command.usage}`,
    wrap(command.description),
    `Options:\n${formatOptions(own, HELP_WIDTH)}`,
  ];
  if (command.settings) {
    const flags = Object.entries(SETTINGS_OPTIONS).map(([name]) => `--${name}`).join(", ");
    sections.push(
      [
        wrap(
          "Config: each flag sets the config key of its name (--spool-dir sets spool_dir; list " +
            "keys take the flag again for each value) and wins over the file; the README's " +
            "Configuration says what each means.",
        ),
        formatOptions(CONFIG_OPTION, HELP_WIDTH),
        `  ${wrap(flags, HELP_WIDTH - 2, 2)}`,
      ].join("\n"),
    );
  }
  sections.push(wrap(`Exit codes: ${command.exitCodes}`, HELP_WIDTH, 2));
  return sections.join("\n\n");
}

/** The one-line usage of a command, for errors. */
export function usageLine(command: Command): string {
  return `usage: tattle ${command.usage} (see tattle ${command.name} --help)`;
}
