/**
 * `tattle setup`: prepares a host (I/O). Everything happens under `root`
 * ("/" on a real host), so tests never touch the system.
 *
 * @module
 */

import { DEFAULT_CONFIG_PATH, DEFAULTS } from "./config.ts";
import { configError } from "./errors.ts";
import {
  addTattleLine,
  hasTattleLine,
  removeTattleLine,
  tattleLine,
  unparsableLine,
} from "./pam_file.ts";
import { prepareSpool } from "./spool.ts";

/** Where setup puts things, relative to the root. */
export const PAM_SSHD = "/etc/pam.d/sshd";
/** The copy of the PAM file kept before setup first changes it. */
export const PAM_BACKUP = "/etc/pam.d/sshd.tattle-backup";

/** The config setup writes: the defaults an operator most often changes, spelled out. */
export const SETUP_CONFIG = {
  identity: DEFAULTS.identity,
  mode: DEFAULTS.mode,
  timeout: DEFAULTS.timeout,
  spool_dir: DEFAULTS.spool_dir,
};

/** What `tattle setup` should do. */
export interface SetupOptions {
  root: string;
  pam: boolean;
  uninstall: boolean;
  /** The binary the PAM line runs. */
  binary: string;
}

/** Runs setup; returns one line per action, for the operator. */
export async function setup(options: SetupOptions): Promise<string[]> {
  const at = (path: string) => `${options.root.replace(/\/+$/, "")}${path}`;
  const done: string[] = [];
  if (options.uninstall) {
    const pam = at(PAM_SSHD);
    const text = await readIfExists(pam);
    if (text === undefined) return [`${pam} does not exist: nothing to remove`];
    const without = removeTattleLine(text);
    if (without === text) return [`${pam} has no line added by tattle setup: unchanged`];
    await writeAtomically(pam, without, (await Deno.stat(pam)).mode! & 0o777);
    return [`removed tattle's line from ${pam}`];
  }

  const config = at(DEFAULT_CONFIG_PATH);
  await Deno.mkdir(at("/etc/tattle"), { recursive: true, mode: 0o755 });
  if (await readIfExists(config) === undefined) {
    await writeAtomically(config, `${JSON.stringify(SETUP_CONFIG, null, 2)}\n`, 0o644);
    done.push(`created ${config}`);
  } else {
    done.push(`${config} exists: unchanged`);
  }
  const spool = at(DEFAULTS.spool_dir);
  await Deno.mkdir(spool.slice(0, spool.lastIndexOf("/")), { recursive: true, mode: 0o755 });
  await prepareSpool(spool);
  done.push(`spool ${spool} ready (0700)`);

  if (options.pam) {
    const pam = at(PAM_SSHD);
    const text = await readIfExists(pam);
    if (text === undefined) {
      throw configError(`${pam} does not exist: is OpenSSH's PAM support installed?`);
    }
    const bad = unparsableLine(text);
    if (bad) {
      throw configError(
        `${pam} line ${bad.number} is not a PAM directive (${bad.line.trim()}): not changed`,
      );
    }
    if (hasTattleLine(text)) {
      done.push(`${pam} already runs tattle: unchanged`);
    } else {
      if (await readIfExists(at(PAM_BACKUP)) === undefined) {
        await writeAtomically(at(PAM_BACKUP), text, 0o644);
        done.push(`kept a copy of ${pam} as ${at(PAM_BACKUP)}`);
      }
      const line = tattleLine(options.binary, DEFAULT_CONFIG_PATH);
      await writeAtomically(pam, addTattleLine(text, line), (await Deno.stat(pam)).mode! & 0o777);
      done.push(`added to ${pam}: ${line}`);
    }
  }
  return done;
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Writes through a temporary file and a rename, so a crash never leaves half a PAM file. */
async function writeAtomically(path: string, text: string, mode: number): Promise<void> {
  const tmp = `${path.slice(0, path.lastIndexOf("/"))}/.${
    path.slice(path.lastIndexOf("/") + 1)
  }.tattle-tmp`;
  await Deno.writeTextFile(tmp, text, { mode });
  await Deno.chmod(tmp, mode);
  await Deno.rename(tmp, path);
}
