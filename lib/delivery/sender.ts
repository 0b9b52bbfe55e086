/**
 * Starting the detached sender: `tattle flush` in its own process group with
 * no stdio, so the login goes on while it delivers.
 *
 * Under pam_exec there is no PATH, so the command is the absolute path of the
 * running executable. Under `deno run` (development, the system tests'
 * launcher) that executable is deno, and the sender gets the permission set
 * plus the paths this configuration uses.
 *
 * The sender never inherits the hook's environment, which holds whatever
 * pam_env put into the PAM environment: it gets one that tattle builds.
 *
 * @module
 */

import { permissionFlags } from "../cli/permissions.ts";
import type { Config } from "../config/config.ts";

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

/** The program, arguments and environment that run `tattle flush` with the hook's options. */
export function senderCommand(
  options: string[],
  config: Config,
  configPath: string,
  execPath = Deno.execPath(),
): SenderCommand {
  if (!isScriptMode(execPath)) return { program: execPath, args: ["flush", ...options], env: {} };
  const root = new URL("../../", import.meta.url).pathname;
  const configDir = configPath.slice(0, configPath.lastIndexOf("/")) || "/";
  const read = [configDir, config.spool_dir, config.state_dir];
  if (config.ca_bundle) read.push(config.ca_bundle);
  const flags = permissionFlags({ read, write: [config.spool_dir, config.state_dir] });
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
