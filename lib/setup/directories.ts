/**
 * Creating tattle's directories with their owners and modes, as
 * contrib/tmpfiles.d/tattle.conf does on a systemd host (I/O).
 *
 * @module
 */

import type { Config } from "../config/config.ts";
import { layout } from "../config/paths.ts";
import { type LocalAccount, SENDER_ACCOUNT } from "../host/accounts.ts";

/**
 * Creates (or corrects) every entry of the layout under `root`, owned by
 * root or by `sender` (root where it is `undefined`). A spool that still
 * belongs to root is handed over with its contents: events an older tattle
 * spooled as root must be readable by the sender's account. A spool that
 * is already another account's is not walked: root never follows what that
 * account can plant.
 *
 * @returns one line per entry, for the operator.
 */
export async function prepareDirectories(
  config: Pick<Config, "spool_dir" | "state_dir" | "runtime_dir">,
  root: string,
  sender: LocalAccount | undefined,
): Promise<string[]> {
  const done: string[] = [];
  for (const entry of layout(config)) {
    const path = `${root}${entry.path}`;
    const owner = entry.owner === "sender" && sender ? sender : { uid: 0, gid: 0 };
    const before = await Deno.lstat(path).catch(() => undefined);
    if (before?.isSymlink) throw new Error(`${path} is a symlink: remove it, then run setup again`);
    if (!before) {
      await withParent(path, async () => {
        if (entry.type === "d") await Deno.mkdir(path, { mode: entry.mode });
        else (await Deno.open(path, { write: true, createNew: true, mode: entry.mode })).close();
      });
    }
    await Deno.chmod(path, entry.mode);
    // Only root can give files away; run by another user (on a --root tree of its own), setup
    // leaves them that user's, which the trust check accepts for that user's runs.
    if (Deno.uid() !== 0) {
      done.push(`${path} ready (${entry.mode.toString(8).padStart(4, "0")}, yours)`);
      continue;
    }
    if (entry.path === config.spool_dir && before && (before.uid ?? 0) === 0 && owner.uid !== 0) {
      await chownTree(path, owner);
    }
    await Deno.chown(path, owner.uid, owner.gid);
    const who = owner.uid === 0 ? "root" : SENDER_ACCOUNT;
    done.push(`${path} ready (${entry.mode.toString(8).padStart(4, "0")}, ${who})`);
  }
  return done;
}

/**
 * Runs `create`, first making the parent directories (0755) when they are
 * missing. Only then: the permission set allows writing tattle's own paths,
 * not /var/spool or /run, which exist on every host.
 */
async function withParent(path: string, create: () => Promise<void>): Promise<void> {
  try {
    await create();
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true, mode: 0o755 });
    await create();
  }
}

/** Hands a root-owned tree to `owner`; it holds only what root wrote. */
async function chownTree(dir: string, owner: { uid: number; gid: number }): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isSymlink) continue;
    if (entry.isDirectory) await chownTree(path, owner);
    await Deno.chown(path, owner.uid, owner.gid);
  }
}
