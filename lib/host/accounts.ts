/**
 * The sender's system account, from `/etc/passwd` (I/O).
 *
 * The sender runs as `tattle`, a local system account that `sysusers.d`
 * (or `tattle setup`'s advice) creates; local system accounts live in
 * `/etc/passwd`, whatever else nsswitch.conf names, so that file is read
 * directly, without the name service's programs.
 *
 * @module
 */

/** The account the sender and `tattle flush` run as where it exists. */
export const SENDER_ACCOUNT = "tattle";

/** Where local accounts are listed. */
export const PASSWD = "/etc/passwd";

/** A local account's numeric ids. */
export interface LocalAccount {
  name: string;
  uid: number;
  gid: number;
}

/**
 * The account `name` in passwd(5) text, or `undefined`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { findAccount } from "./accounts.ts";
 * const passwd = "root:x:0:0:root:/root:/bin/bash\ntattle:x:998:998::/:/usr/sbin/nologin\n";
 * assert.deepEqual(findAccount(passwd, "tattle"), { name: "tattle", uid: 998, gid: 998 });
 * assert.equal(findAccount(passwd, "alice"), undefined);
 * ```
 */
export function findAccount(passwd: string, name: string): LocalAccount | undefined {
  for (const line of passwd.split("\n")) {
    const [user, , uid, gid] = line.split(":");
    if (user !== name || !/^\d+$/.test(uid ?? "") || !/^\d+$/.test(gid ?? "")) continue;
    return { name, uid: Number(uid), gid: Number(gid) };
  }
  return undefined;
}

/** Reads a file's text; `Deno.readTextFile` in production. */
export type ReadText = (path: string) => Promise<string>;

/**
 * The sender's account on this host (or in the system image under `root`),
 * or `undefined` where it does not exist.
 */
export async function senderAccount(
  root = "",
  read: ReadText = Deno.readTextFile,
): Promise<LocalAccount | undefined> {
  try {
    return findAccount(await read(`${root}${PASSWD}`), SENDER_ACCOUNT);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}
