/**
 * Who sends: a process sends from, and keeps house in, only a spool its
 * own account owns (I/O). The spool belongs to the sender's account
 * (`tattle`) where it exists, to root elsewhere; a root process never
 * opens a file that another account can replace, so run as root on the
 * sender account's spool, `tattle flush` and `tattle status` run again as
 * that account.
 *
 * @module
 */

import type { Config } from "../config/config.ts";
import { assertTrusted } from "../config/trust.ts";
import { asAccount } from "../host/privileges.ts";
import { configError, type ExitCode } from "../util/errors.ts";
import { ownerOf, tattleCommand } from "./spawn.ts";
import { prepareSpool } from "./spool.ts";

/** The spool's owner, when it is not this process's account. */
export async function foreignOwner(
  config: Config,
): Promise<{ uid: number; gid: number } | undefined> {
  try {
    const owner = await ownerOf(config.spool_dir);
    return owner.uid === Deno.uid() ? undefined : owner;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined; // created by whoever sends
    throw error;
  }
}

/**
 * Readies a process that sends from the spool: the spool is its own, and
 * the spool, its `failed/` and the state directory exist and are trusted.
 *
 * @throws {TattleError} exit 78 when the spool belongs to another account
 * or a directory is not trusted.
 */
export async function prepareToSend(config: Config, command: string): Promise<void> {
  const owner = await foreignOwner(config);
  if (owner) {
    throw configError(
      `the spool ${config.spool_dir} belongs to uid ${owner.uid}, and tattle ${command} runs as ` +
        "the spool's owner: run it as that account (tattle-sender.service has User=tattle)",
    );
  }
  await prepareSpool(config.spool_dir);
  await Deno.mkdir(config.state_dir, { recursive: true, mode: 0o755 });
  await Promise.all([
    assertTrusted(config.spool_dir, "spool directory"),
    assertTrusted(config.state_dir, "state directory"),
    assertTrusted(config.runtime_dir, "runtime directory"),
  ]);
}

/**
 * Runs this command again as the spool's owner when this process is root
 * and the spool is another account's; `undefined` when it is this
 * process's to run. The output goes where this process's goes.
 */
export async function asSpoolOwner(
  config: Config,
  configPath: string,
  argv: string[],
): Promise<ExitCode | undefined> {
  const owner = Deno.uid() === 0 ? await foreignOwner(config) : undefined;
  if (!owner) return undefined;
  const { program, args, env, uid, gid } = asAccount(
    tattleCommand(argv, config, configPath),
    owner,
  );
  const child = new Deno.Command(program, {
    args,
    env,
    uid,
    gid,
    clearEnv: true,
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  });
  return (await child.output()).code as ExitCode;
}
