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
  const [uid, groups] = await runWithin([["-u", "--", user], ["-Gnz", "--", user]], run, boundMs);
  return uid.success ? parseAccount(uid.stdout, groups.stdout) : undefined;
}

/** Runs `id` with each of `argLists` at once, all within `boundMs`. */
async function runWithin(argLists: string[][], run: RunId, boundMs: number): Promise<IdOutput[]> {
  const signal = AbortSignal.timeout(boundMs);
  try {
    return await Promise.all(argLists.map((args) => run(args, signal)));
  } catch (error) {
    if (signal.aborted) {
      throw new Error(`the name service did not answer within ${boundMs / 1000} s`);
    }
    throw new Error(`${ID_PROGRAM} failed: ${(error as Error).message}`);
  }
}

/**
 * A lookup that asks `id` once for many users: the users asked for in one
 * turn of the event loop (a batch of events) go to two `id` processes
 * together, instead of two each. When `id` does not answer plainly for
 * every one of them (an unknown user, a group without a name), each is
 * asked again on its own.
 */
export function batchedLookup(
  run: RunId = runId,
  boundMs = NSS_BOUND_MS,
): (user: string) => Promise<Account | undefined> {
  let waiting: Map<string, PromiseWithResolvers<Account | undefined>> | undefined;
  return (user) => {
    if (!waiting) {
      const batch = waiting = new Map();
      queueMicrotask(() => {
        waiting = undefined;
        resolveAccounts([...batch.keys()], run, boundMs).then(
          (answers) =>
            batch.forEach((entry, name) => answers.get(name)!.then(entry.resolve, entry.reject)),
          (error) => batch.forEach((entry) => entry.reject(error)),
        );
      });
    }
    let entry = waiting.get(user);
    if (!entry) waiting.set(user, entry = Promise.withResolvers());
    return entry.promise;
  };
}

/** Each user's answer: from one batch, or else from each user's own lookup. */
async function resolveAccounts(
  users: string[],
  run: RunId,
  boundMs: number,
): Promise<Map<string, Promise<Account | undefined>>> {
  const named = users.filter((user) => user !== "");
  if (named.length > 1) {
    const [uids, groups] = await runWithin(
      [["-u", "--", ...named], ["-Gnz", "--", ...named]],
      run,
      boundMs,
    );
    const decoder = new TextDecoder();
    // One line per user, and one NUL-separated list per user, each ended by a second NUL.
    const uidLines = decoder.decode(uids.stdout).split("\n");
    const groupLists = decoder.decode(groups.stdout).split("\0\0");
    const plain = uids.success && groups.success && uidLines.length === named.length + 1 &&
      groupLists.length === named.length + 1;
    const accounts = plain
      ? named.map((_, i) => accountFrom(uidLines[i], groupLists[i].split("\0")))
      : [];
    if (plain && accounts.every((a) => a !== undefined)) {
      return new Map(users.map((user) => [user, Promise.resolve(accounts[named.indexOf(user)])]));
    }
  }
  return new Map(users.map((user) => [user, resolveAccount(user, run, boundMs)]));
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
  return accountFrom(decoder.decode(uidOut), decoder.decode(groupsOut).split("\0"));
}

function accountFrom(uidText: string, groupNames: string[]): Account | undefined {
  uidText = uidText.trim();
  const groups = [...new Set(groupNames.filter((g) => g !== ""))];
  // Every user has a primary group; the uid's range is the declaration's.
  if (!/^\d+$/.test(uidText) || groups.length === 0) return undefined;
  try {
    return ACCOUNT.parse({ uid: Number(uidText), groups: groups.sort() });
  } catch {
    return undefined;
  }
}
