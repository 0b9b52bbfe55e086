/**
 * `tattle setup`: the config, the spool and the sshd PAM line.
 *
 * @module
 */

import { command } from "../cli/command.ts";
import { BINARY } from "../config/paths.ts";
import { assertRootReachable } from "../config/reach.ts";
import { isScriptMode } from "../host/script_mode.ts";
import { setupHost } from "../setup/install.ts";
import { EXIT, usageError } from "../util/errors.ts";

/** `tattle setup`. */
export const setup = command({
  name: "setup",
  summary: "create the config and directories; --pam adds the sshd PAM line",
  usage: "setup [--pam [--disable-user-readenv]] [--uninstall] [--root DIR]",
  description: "Creates /etc/tattle/config.json (when absent), and the spool, state and runtime " +
    "directories with their owners (the tattle account's where it exists, as " +
    "contrib/tmpfiles.d/tattle.conf declares them). With --pam, adds tattle's " +
    "line to /etc/pam.d/sshd where no user-controlled state has reached the session, keeping " +
    "a copy as sshd.tattle-backup; it refuses (78) a stack whose pam_env reads users' " +
    "~/.pam_environment unless --disable-user-readenv lets it turn that off. --uninstall " +
    "restores exactly what setup changed.",
  options: {
    pam: { kind: "boolean", help: "also add the sshd PAM line" },
    "disable-user-readenv": {
      kind: "boolean",
      help: "with --pam: set pam_env's user_readenv=1 to 0 in /etc/pam.d/sshd",
    },
    uninstall: { kind: "boolean", help: "remove what setup changed in /etc/pam.d/sshd" },
    root: { kind: "string", value: "DIR", help: 'do everything under DIR (default "/")' },
  },
  settings: false,
  exitCodes:
    "0 done; 64 bad command line; 78 the PAM stack or a file is refused (nothing changed).",
  async run(ctx) {
    const { pam = false, uninstall = false, root = "/" } = ctx.values;
    const disableUserReadenv = ctx.values["disable-user-readenv"] ?? false;
    if (disableUserReadenv && !pam) throw usageError("--disable-user-readenv goes with --pam");
    assertRootReachable("setup", root, ["read", "write"]);
    const actions = await setupHost({
      root,
      pam,
      uninstall,
      disableUserReadenv,
      // Under `deno run` the executable is deno: the line names the installed binary.
      binary: isScriptMode() ? BINARY : Deno.execPath(),
    });
    for (const action of actions) ctx.print(`tattle setup: ${action}`);
    return EXIT.OK;
  },
});
