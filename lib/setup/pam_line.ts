/**
 * The one PAM line that runs tattle, as `tattle setup --pam` writes it and
 * every message quotes it (pure).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SETUP_LINE } from "./pam_line.ts";
 * assert.match(SETUP_LINE, /^session optional pam_exec\.so quiet \/usr\/bin\/prlimit .* -- \/usr\/sbin\/tattle /);
 * ```
 *
 * @module
 */

import { BINARY } from "../config/paths.ts";
import { DEFAULT_CONFIG_PATH } from "../config/settings.ts";

/** Where util-linux's prlimit is; the PAM line starts tattle through it. */
export const PRLIMIT = "/usr/bin/prlimit";

/**
 * Limits lifted for tattle alone. V8 reserves more than 32 GiB of address
 * space at start and needs about 1 GiB of data and 1 MiB of stack, and a
 * file size limit kills the spool write, so a user's limits.conf (applied
 * by pam_limits to sshd, and so to the close hook) would stop tattle.
 */
export const LIFTED_LIMITS = [
  "--as=unlimited",
  "--data=unlimited",
  "--fsize=unlimited",
  "--stack=8388608",
];

/** The session line that runs `binary` through prlimit, quiet so users never see its failures. */
export function tattleLine(binary: string, configPath: string): string {
  return `session optional pam_exec.so quiet ${PRLIMIT} ${
    LIFTED_LIMITS.join(" ")
  } -- ${binary} --config ${configPath}`;
}

/** The line for the package's binary and the default config. */
export const SETUP_LINE = tattleLine(BINARY, DEFAULT_CONFIG_PATH);
