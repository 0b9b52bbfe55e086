/**
 * The files tattle keeps, derived from the config's directories (pure).
 * Who owns what, and why:
 *
 * - `runtime_dir` (root, a tmpfs): the sender service's socket, the lock
 *   whoever sends holds, and the hooks' session records. Root's hook opens
 *   files only here and in `/etc/tattle`, where no other account can
 *   change anything.
 * - `spool_dir` (the sender's account): events waiting. Root's hook only
 *   creates new files there, never opens one that exists.
 * - `state_dir` (the sender's account): what the sender keeps across
 *   reboots (identity cache, metrics); root's hook never touches it.
 *
 * @module
 */

import type { Config } from "./config.ts";

/** Where the package installs tattle: the PAM line, the units and the docs name it. */
export const BINARY = "/usr/sbin/tattle";

/**
 * Where hosts installed by hand before the package had it: still allowed
 * to run (a hook without systemd starts tattle itself as the sender).
 */
export const HAND_INSTALLED_BINARY = "/usr/local/bin/tattle";

/** The socket hooks connect to, to wake the sender service (tattle-sender.socket). */
export function senderSocket(config: Pick<Config, "runtime_dir">): string {
  return `${config.runtime_dir}/sender.sock`;
}

/** The lock whoever sends from the spool holds: the sender, `tattle flush`, an inline hook. */
export function senderLock(config: Pick<Config, "runtime_dir">): string {
  return `${config.runtime_dir}/sender.lock`;
}

/**
 * Where a process running as `uid` can bind the socket it logs to syslog
 * from: a directory it owns (root's, or the sender account's).
 */
export function syslogBindDir(
  config: Pick<Config, "runtime_dir" | "state_dir">,
  uid: number | null,
): string {
  return uid === 0 ? config.runtime_dir : config.state_dir;
}

/** One directory or file of tattle's layout, as tmpfiles.d(5) would declare it. */
export interface LayoutEntry {
  /** `d`: a directory; `f`: an empty file. */
  type: "d" | "f";
  path: string;
  mode: number;
  /** root, or the sender's account (root where that account does not exist). */
  owner: "root" | "sender";
}

/**
 * Every directory and file tattle needs before its first login, with its
 * owner and mode: what `tattle setup` creates, and what
 * contrib/tmpfiles.d/tattle.conf declares for the defaults.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { layout } from "./paths.ts";
 * const spool = layout({ spool_dir: "/s", state_dir: "/v", runtime_dir: "/r" })[0];
 * assert.deepEqual(spool, { type: "d", path: "/s", mode: 0o700, owner: "sender" });
 * ```
 */
export function layout(config: Pick<Config, "spool_dir" | "state_dir" | "runtime_dir">) {
  const entries: LayoutEntry[] = [
    { type: "d", path: config.spool_dir, mode: 0o700, owner: "sender" },
    { type: "d", path: `${config.spool_dir}/failed`, mode: 0o700, owner: "sender" },
    { type: "d", path: config.state_dir, mode: 0o755, owner: "sender" },
    { type: "d", path: `${config.state_dir}/metrics`, mode: 0o755, owner: "sender" },
    { type: "d", path: config.runtime_dir, mode: 0o755, owner: "root" },
    { type: "d", path: `${config.runtime_dir}/sessions`, mode: 0o700, owner: "root" },
    { type: "f", path: senderLock(config), mode: 0o644, owner: "root" },
  ];
  return entries;
}
