/**
 * Running a tattle process as another account (pure).
 *
 * The child's user and group ids are set between fork and exec
 * (`Deno.Command`'s `uid` and `gid`): its supplementary groups are cleared,
 * and leaving uid 0 clears every capability. Not util-linux's setpriv:
 * the runtime checks only the program it starts, so allowing tattle to run
 * setpriv would let it run any program, as root.
 *
 * @module
 */

/** A program to start: its path, arguments, whole environment and account. */
export interface Command {
  program: string;
  args: string[];
  env: Record<string, string>;
  /** Run as this uid and gid; this process's own when unset. */
  uid?: number;
  gid?: number;
}

/**
 * `command`, run as `account`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { asAccount } from "./privileges.ts";
 * const run = asAccount({ program: "/usr/sbin/tattle", args: ["flush"], env: {} }, { uid: 998, gid: 998 });
 * assert.deepEqual(run, { program: "/usr/sbin/tattle", args: ["flush"], env: {}, uid: 998, gid: 998 });
 * ```
 */
export function asAccount(command: Command, account: { uid: number; gid: number }): Command {
  return { ...command, uid: account.uid, gid: account.gid };
}
