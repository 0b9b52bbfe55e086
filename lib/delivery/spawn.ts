/**
 * Starting the sender (`tattle sender`): detached, in its own process
 * group, with no stdio and an environment tattle builds, and at most one at
 * a time per spool (I/O).
 *
 * A running sender holds the spool's lock. A hook that finds it free claims
 * a start marker before it starts one, so a burst of logins starts one
 * sender, not one each; the sender removes the marker before it tries the
 * lock. A marker older than {@link STALE_START_MS} (a sender that died at
 * start) no longer counts.
 *
 * Under pam_exec there is no PATH, so the command is the absolute path of
 * the running executable. Under `deno run` (development, the system tests'
 * launcher) that executable is deno, and the sender gets the permission set
 * plus the paths this configuration uses.
 *
 * @module
 */

import { permissionFlags } from "../cli/permissions.ts";
import type { Config } from "../config/config.ts";
import { createFile } from "../util/files.ts";
import { spoolList, spoolLockHeld } from "./spool.ts";

/** The start marker in a spool directory. */
export const START_MARKER = ".sender-starting";

/** A start marker older than this was left by a sender that never got going. */
export const STALE_START_MS = 10_000;

/** Whether this process is `deno run main.ts` rather than the compiled binary. */
export function isScriptMode(execPath = Deno.execPath()): boolean {
  return /(^|\/)deno$/.test(execPath);
}

/** A command to start: program, arguments and its whole environment. */
export interface SenderCommand {
  program: string;
  args: string[];
  env: Record<string, string>;
}

/** The program, arguments and environment that run `tattle sender` with `options`. */
export function senderCommand(
  options: string[],
  config: Config,
  configPath: string,
  execPath = Deno.execPath(),
): SenderCommand {
  if (!isScriptMode(execPath)) return { program: execPath, args: ["sender", ...options], env: {} };
  const root = new URL("../../", import.meta.url).pathname;
  const configDir = configPath.slice(0, configPath.lastIndexOf("/")) || "/";
  const read = [configDir, config.spool_dir, config.state_dir];
  const write = [config.spool_dir, config.state_dir];
  if (config.ca_bundle) read.push(config.ca_bundle);
  if (config.metrics_file) {
    write.push(config.metrics_file.slice(0, config.metrics_file.lastIndexOf("/")));
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
      "sender",
      ...options,
    ],
    // Deno's update check would look up dl.deno.land from every sender.
    env: { DENO_NO_UPDATE_CHECK: "1" },
  };
}

/** Starts the sender detached; throws when it cannot be started. */
export function startSender({ program, args, env }: SenderCommand): void {
  const child = new Deno.Command(program, {
    args,
    env,
    clearEnv: true,
    detached: true,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  child.unref();
}

/**
 * Makes sure a sender will see what is spooled now: one is running (it
 * holds the lock), one is starting (its marker), or this call starts one.
 *
 * @returns what it found or did.
 * @throws {Error} when a sender had to be started and could not be.
 */
export async function ensureSender(
  dir: string,
  start: () => void,
): Promise<"running" | "starting" | "started"> {
  if (await spoolLockHeld(dir)) return "running";
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
  if (await spoolLockHeld(dir) && await Deno.remove(marker).then(() => true, () => false)) {
    if (await spoolLockHeld(dir)) return "running";
    if (!(await claim(marker))) return "starting";
  }
  try {
    start();
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
 * What a process that held the spool's lock does as it lets go: records it
 * never saw arrived while it held it (their hooks found it busy), so a
 * sender must see them.
 */
export async function handOver(
  dir: string,
  seen: ReadonlySet<string>,
  start: () => void,
): Promise<void> {
  const left = await spoolList(dir);
  if (left.some((name) => !seen.has(name))) await ensureSender(dir, start);
}
