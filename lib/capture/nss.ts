/**
 * The logging-in user's uid and groups from the system's name service
 * (I/O): /etc/passwd and /etc/group, LDAP, sssd, whatever nsswitch.conf
 * says.
 *
 * Deno has no getpwnam(3) or getgrouplist(3), and FFI would need every
 * permission; coreutils' `id` calls exactly those, so tattle runs it, by
 * absolute path, with an empty environment and the user name after `--`.
 *
 * @module
 */

import { ACCOUNT, type Account } from "../event/account.ts";

/** The program; the permission set allows running exactly this one. */
export const ID_PROGRAM = "/usr/bin/id";

/** How long one lookup may take: a hung LDAP server must not hold a login. */
export const NSS_BOUND_MS = 2_000;

/** What running `id` gave. */
export interface IdOutput {
  success: boolean;
  stdout: Uint8Array;
}

/** Runs `id` with `args`, ended by `signal`; injected by tests. */
export type RunId = (args: string[], signal: AbortSignal) => Promise<IdOutput>;

/** Runs {@link ID_PROGRAM}. */
export const runId: RunId = (args, signal) =>
  new Deno.Command(ID_PROGRAM, {
    args,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
    signal,
  }).output();

/**
 * The account of `user`, or `undefined` when the name service does not know
 * the user.
 *
 * @throws {Error} when the name service could not be asked, or did not
 * answer within `boundMs`.
 */
export async function resolveAccount(
  user: string,
  run: RunId = runId,
  boundMs = NSS_BOUND_MS,
): Promise<Account | undefined> {
  if (user === "") return undefined;
  const signal = AbortSignal.timeout(boundMs);
  let uid: IdOutput | undefined, groups: IdOutput | undefined;
  try {
    [uid, groups] = await Promise.all([
      run(["-u", "--", user], signal),
      run(["-Gnz", "--", user], signal),
    ]);
  } catch (error) {
    if (!signal.aborted) throw new Error(`${ID_PROGRAM} failed: ${(error as Error).message}`);
  }
  if (signal.aborted) {
    throw new Error(`the name service did not answer within ${boundMs / 1000} s`);
  }
  return uid?.success && groups ? parseAccount(uid.stdout, groups.stdout) : undefined;
}

/**
 * The account from `id -u` and `id -Gnz` output; `undefined` when either is
 * not what `id` prints for a known user. A group without a name is listed
 * by its number, as `id` prints it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAccount } from "./nss.ts";
 * const text = (s: string) => new TextEncoder().encode(s);
 * assert.deepEqual(parseAccount(text("1001\n"), text("alice\0wheel\0adm\0alice\0")), {
 *   uid: 1001,
 *   groups: ["adm", "alice", "wheel"],
 * });
 * assert.equal(parseAccount(text(""), text("")), undefined);
 * ```
 */
export function parseAccount(uidOut: Uint8Array, groupsOut: Uint8Array): Account | undefined {
  const decoder = new TextDecoder();
  const uidText = decoder.decode(uidOut).trim();
  const groups = [...new Set(decoder.decode(groupsOut).split("\0").filter((g) => g !== ""))];
  // Every user has a primary group; the uid's range is the declaration's.
  if (!/^\d+$/.test(uidText) || groups.length === 0) return undefined;
  try {
    return ACCOUNT.parse({ uid: Number(uidText), groups: groups.sort() });
  } catch {
    return undefined;
  }
}
