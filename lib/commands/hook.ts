/**
 * `tattle` / `tattle hook`: what pam_exec runs. Its options and help are
 * declared here; its run is the flow of one login, in main.ts.
 *
 * @module
 */

import type { Command } from "../cli/command.ts";

const OPTIONS = {
  "dry-run": { kind: "boolean", help: "print the PutEvents entry instead of sending it" },
} as const;

/** The hook, without its run. */
export const HOOK: Omit<Command<typeof OPTIONS>, "run"> = {
  name: "hook",
  summary: "(default) report the PAM session in the environment",
  usage: "[hook] [OPTIONS]",
  description:
    "Reports the session that pam_exec describes (PAM_TYPE open_session or close_session) to " +
    "EventBridge: spooled first, then sent by a detached sender (mode background) or before " +
    "exiting (mode inline, and always when run by hand from a terminal).",
  options: OPTIONS,
  settings: true,
  exitCodes: "0 delivered, or spooled with a sender started (background), or --dry-run; " +
    "64 bad command line, or PAM_TYPE is not a session; 69 not spooled nor sent, or rejected " +
    "for good; 70 internal error; 75 spooled for later delivery (inline); 78 configuration.",
};
