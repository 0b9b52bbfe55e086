/**
 * Starting tattle processes: the sender a hook starts where no service
 * manager does (detached, in its own process group, no stdio, an
 * environment tattle builds, as the spool's owner), at most one at a time
 * per spool; and tattle itself again, as another account (I/O).
 *
 * A running sender holds the sender lock. A hook that finds it free claims
 * a start marker in the spool before it starts one, so a burst of logins
 * starts one sender, not one each; the sender removes the marker before it
 * tries the lock. A marker older than {@link STALE_START_MS} (a sender that
 * died at start) no longer counts. Root's hook only creates the marker
 * (never opening one that exists), looks at it and removes it: the spool
 * may belong to the sender's account.
 *
 * Under pam_exec there is no PATH, so the command is the absolute path of
 * the running executable. Under `deno run` (development, the tests'
 * stand-in) that executable is deno, and the process gets the permission
 * set plus the paths this configuration uses, and the Deno cache the
 * launcher named.
 *
 * @module
 */

import { permissionFlags } from "../cli/permissions.ts";
import type { Config } from "../config/config.ts";
import { asAccount, type Command } from "../host/privileges.ts";
import { isScriptMode, SCRIPT_DENO_DIR } from "../host/script_mode.ts";
import { createFile } from "../util/files.ts";
import { lockHeld } from "./lock.ts";
import { spoolList } from "./spool.ts";

export type { Command } from "../host/privileges.ts";

/** The start marker in a spool directory. */
export const START_MARKER = ".sender-starting";

/** A start marker older than this was left by a sender that never got going. */
export const STALE_START_MS = 10_000;

/** The program, arguments and environment that run tattle with `args` for `config`. */
export function tattleCommand(
  args: string[],
  config: Config,
  configPath: string,
  execPath = Deno.execPath(),
): Command {
  if (!isScriptMode(execPath)) return { program: execPath, args, env: {} };
  const root = new URL("../../", import.meta.url).pathname;
  const configDir = configPath.slice(0, configPath.lastIndexOf("/")) || "/";
  const dirs = [config.spool_dir, config.state_dir, config.runtime_dir];
  const read = [configDir, ...dirs];
  const write = [...dirs];
  if (config.ca_bundle) read.push(config.ca_bundle);
  if (config.metrics_file) {
    const metricsDir = config.metrics_file.slice(0, config.metrics_file.lastIndexOf("/"));
    read.push(metricsDir);
    write.push(metricsDir);
  }
  return {
    program: execPath,
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      "--frozen",
      `--config=${root}deno.json`,
      ...permissionFlags({ read, write }),
      `${root}main.ts`,
      ...args,
    ],
    // Deno's update check would look up dl.deno.land from every process.
    env: {
      DENO_NO_UPDATE_CHECK: "1",
      ...(SCRIPT_DENO_DIR ? { DENO_DIR: SCRIPT_DENO_DIR } : {}),
    },
  };
}

/** Who owns a directory: the account tattle's processes for it run as. */
export async function ownerOf(dir: string): Promise<{ uid: number; gid: number }> {
  const info = await Deno.lstat(dir);
  return { uid: info.uid ?? 0, gid: info.gid ?? 0 };
}

/**
 * The sender for `config`'s spool, run as the spool's owner: the sender's
 * account where the spool is its, else this process's own.
 */
export async function senderCommand(
  options: string[],
  config: Config,
  configPath: string,
): Promise<Command> {
  const command = tattleCommand(["sender", ...options], config, configPath);
  const owner = await ownerOf(config.spool_dir);
  return owner.uid === Deno.uid() ? command : asAccount(command, owner);
}

/** Starts `command` detached; throws when it cannot be started. */
export function startDetached({ program, args, env, uid, gid }: Command): void {
  const child = new Deno.Command(program, {
    args,
    env,
    uid,
    gid,
    clearEnv: true,
    detached: true,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  child.unref();
}

/**
 * Makes sure a sender will see what is spooled in `dir` now: one is running
 * (it holds the lock at `lock`), one is starting (its marker), or this call
 * starts one.
 *
 * @returns what it found or did.
 * @throws {Error} when a sender had to be started and could not be.
 */
export async function ensureSender(
  dir: string,
  lock: string,
  start: () => void | Promise<void>,
): Promise<"running" | "starting" | "started"> {
  if (await lockHeld(lock)) return "running";
  const marker = `${dir}/${START_MARKER}`;
  if (!(await claim(marker))) {
    const age = Date.now() -
      ((await Deno.lstat(marker).catch(() => undefined))?.mtime?.getTime() ?? 0);
    if (Math.abs(age) < STALE_START_MS) return "starting";
    await Deno.remove(marker).catch(() => {});
    if (!(await claim(marker))) return "starting"; // another hook took over the stale one
  }
  // The marker is this hook's. A sender that cleared its own marker just
  // before may have taken the lock since the first look: then this hook
  // need not start another. It gives its marker up, and looks once more
  // after that: hooks that trusted the marker wrote their records before it
  // went, so a sender that still holds the lock lists them as it leaves.
  // A marker it cannot give up is honoured: the sender it starts clears it.
  if (await lockHeld(lock) && await Deno.remove(marker).then(() => true, () => false)) {
    if (await lockHeld(lock)) return "running";
    if (!(await claim(marker))) return "starting";
  }
  try {
    await start();
  } catch (error) {
    await Deno.remove(marker).catch(() => {});
    throw error;
  }
  return "started";
}

async function claim(marker: string): Promise<boolean> {
  try {
    await createFile(marker, "");
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
    throw error;
  }
}

/**
 * The sender's first step, right before it tries the lock: from here a hook
 * may start another. Synchronous, so that no turn of the event loop (which
 * a busy machine can stretch to many milliseconds) comes between the two.
 */
export function clearStartMarker(dir: string): void {
  try {
    Deno.removeSync(`${dir}/${START_MARKER}`);
  } catch {
    // Already gone: a stale marker another hook removed, or a sender started by hand.
  }
}

/**
 * What a process that held the sender lock does as it lets go: records it
 * never saw arrived while it held it (their hooks found it busy), so a
 * sender must see them.
 */
export async function handOver(
  dir: string,
  seen: ReadonlySet<string>,
  wake: () => Promise<unknown>,
): Promise<void> {
  const left = await spoolList(dir);
  if (left.some((name) => !seen.has(name))) await wake();
}
