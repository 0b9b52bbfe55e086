/**
 * Starting the detached sender: `tattle flush` in its own process group with
 * no stdio, so the login goes on while it delivers.
 *
 * Under pam_exec there is no PATH, so the command is the absolute path of the
 * running executable. Under `deno run` (development, the system tests'
 * launcher) that executable is deno, and the sender gets the permission set
 * plus the paths this configuration uses.
 *
 * @module
 */

import type { Config } from "./config.ts";
import { permissionFlags } from "./permissions.ts";

/** Whether this process is `deno run main.ts` rather than the compiled binary. */
export function isScriptMode(execPath = Deno.execPath()): boolean {
  return /(^|\/)deno$/.test(execPath);
}

/** The program and arguments that run `tattle flush` with the hook's options. */
export function senderCommand(
  options: string[],
  config: Config,
  configPath: string,
  execPath = Deno.execPath(),
): { program: string; args: string[] } {
  if (!isScriptMode(execPath)) return { program: execPath, args: ["flush", ...options] };
  const root = new URL("../", import.meta.url).pathname;
  const configDir = configPath.slice(0, configPath.lastIndexOf("/")) || "/";
  const flags = permissionFlags({
    read: [configDir, config.spool_dir, config.state_dir],
    write: [config.spool_dir, config.state_dir],
  });
  return {
    program: execPath,
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      "--frozen",
      `--config=${root}deno.json`,
      ...flags,
      `${root}main.ts`,
      "flush",
      ...options,
    ],
  };
}

/** Starts the sender detached; throws when it cannot be started. */
export function startSender(program: string, args: string[]): void {
  const child = new Deno.Command(program, {
    args,
    detached: true,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  child.unref();
}
