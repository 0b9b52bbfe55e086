/**
 * `tattle setup`: prepares a host (I/O). Everything happens under `root`
 * ("/" on a real host), so tests never touch the system.
 *
 * @module
 */

import { DEFAULT_CONFIG_PATH, DEFAULTS } from "../config/config.ts";
import { configError } from "../util/errors.ts";
import {
  disableUserReadenv,
  parsePamFile,
  placeTattleLine,
  replaceOtherTattleLines,
  uninstallFromPamFile,
} from "./pam_stack.ts";
import { readPamStack, userReadenvFindings } from "./pam_stack_file.ts";
import { PASSWD, SENDER_ACCOUNT, senderAccount } from "../host/accounts.ts";
import { prepareDirectories } from "./directories.ts";
import { PRLIMIT, tattleLine } from "./pam_line.ts";

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
  /** With `pam`: turn pam_env's user_readenv=1 in the sshd file to 0. */
  disableUserReadenv: boolean;
  /** The binary the PAM line runs. */
  binary: string;
}

/** Runs setup; returns one line per action, for the operator. */
export async function setupHost(options: SetupOptions): Promise<string[]> {
  const at = (path: string) => `${options.root.replace(/\/+$/, "")}${path}`;
  if (options.uninstall) return await uninstall(at(PAM_SSHD));

  // The PAM stack is judged first: a refusal changes nothing at all.
  const pam = options.pam ? await plannedPamFile(options, at) : undefined;
  const done: string[] = [];
  const config = at(DEFAULT_CONFIG_PATH);
  await Deno.mkdir(at("/etc/tattle"), { recursive: true, mode: 0o755 });
  if (await readIfExists(config) === undefined) {
    await writeAtomically(config, `${JSON.stringify(SETUP_CONFIG, null, 2)}\n`, 0o644);
    done.push(`created ${config}`);
  } else {
    done.push(`${config} exists: unchanged`);
  }
  const root = options.root.replace(/\/+$/, "");
  const sender = await senderAccount(root);
  done.push(...await prepareDirectories(DEFAULTS, root, sender));
  if (!sender) {
    done.push(
      `no ${SENDER_ACCOUNT} account in ${at(PASSWD)}: the sender runs as root; create it ` +
        "(systemd-sysusers contrib/sysusers.d/tattle.conf, or useradd --system --user-group " +
        `--no-create-home --home-dir / --shell /usr/sbin/nologin ${SENDER_ACCOUNT}) and run ` +
        "tattle setup again",
    );
  }

  if (pam) {
    const path = at(PAM_SSHD);
    if (pam.after === pam.before) {
      done.push(...pam.notes, `${path}: unchanged`);
    } else {
      if (await readIfExists(at(PAM_BACKUP)) === undefined) {
        await writeAtomically(at(PAM_BACKUP), pam.before, 0o644);
        done.push(`kept a copy of ${path} as ${at(PAM_BACKUP)}`);
      }
      await writeAtomically(path, pam.after, (await Deno.stat(path)).mode! & 0o777);
      done.push(...pam.notes);
    }
  }
  return done;
}

/**
 * The sshd PAM file as setup would leave it, and what it changed.
 *
 * @throws {TattleError} exit 78 when the file is missing or unparsable, when
 * the stack reads users' ~/.pam_environment and that cannot be turned off
 * here, or when prlimit is missing.
 */
async function plannedPamFile(
  options: SetupOptions,
  at: (path: string) => string,
): Promise<{ before: string; after: string; notes: string[] }> {
  const path = at(PAM_SSHD);
  const before = await readIfExists(path);
  if (before === undefined) {
    throw configError(`${path} does not exist: is OpenSSH's PAM support installed?`);
  }
  const { bad } = parsePamFile(before);
  if (bad) {
    throw configError(
      `${path} line ${bad.number} is not a PAM directive (${bad.line.trim()}): not changed`,
    );
  }
  const findings = userReadenvFindings(await readPamStack(options.root, "sshd"));
  const elsewhere = findings.find((f) => f.file !== PAM_SSHD);
  if (elsewhere) {
    throw configError(
      `${
        at(elsewhere.file)
      } line ${elsewhere.directive.number} enables user_readenv=1 (${elsewhere.directive.raw.trim()}), included by ${path}: ${READENV_REASON}; tattle setup changes only ${path}: ` +
        `set user_readenv=0 there by hand, then run tattle setup --pam again. Nothing was changed`,
    );
  }
  const notes: string[] = [];
  let after = before;
  if (findings.length > 0) {
    const [first] = findings;
    if (!options.disableUserReadenv) {
      throw configError(
        `${path} line ${first.directive.number} enables user_readenv=1 (${first.directive.raw.trim()}): ` +
          `${READENV_REASON}; run tattle setup --pam --disable-user-readenv to set it to 0 ` +
          `(a backup is kept, and tattle setup --uninstall restores it). Nothing was changed`,
      );
    }
    after = disableUserReadenv(after, findings.map((f) => f.directive.number));
    notes.push(
      `set user_readenv=0 on ${path} line(s) ${findings.map((f) => f.directive.number).join(", ")}`,
    );
  }
  try {
    await Deno.stat(at(PRLIMIT));
  } catch {
    throw configError(
      `${at(PRLIMIT)} is missing: install util-linux; the PAM line starts tattle through prlimit ` +
        "so that users' address-space and file-size limits cannot stop it. Nothing was changed",
    );
  }
  const other = replaceOtherTattleLines(after);
  for (const { number, line } of other.replaced) {
    notes.push(
      `${path} line ${number} ran tattle as setup does not (${line.trim()}): setup's own line ` +
        "replaces it (kept as a comment there and in the backup; tattle setup --uninstall " +
        "restores it)",
    );
  }
  after = other.text;
  const line = tattleLine(options.binary, DEFAULT_CONFIG_PATH);
  const placed = placeTattleLine(after, line);
  if (placed !== after) notes.push(`added to ${path}: ${line}`);
  after = placed;
  return { before, after, notes };
}

/** Why user_readenv=1 is refused, for messages. */
const READENV_REASON =
  "every user's ~/.pam_environment would reach tattle, which runs as root, and code named there " +
  "(LD_PRELOAD) would run as root";

async function uninstall(pam: string): Promise<string[]> {
  const text = await readIfExists(pam);
  if (text === undefined) return [`${pam} does not exist: nothing to remove`];
  const restored = uninstallFromPamFile(text);
  if (restored === text) return [`${pam} has no change made by tattle setup: unchanged`];
  await writeAtomically(pam, restored, (await Deno.stat(pam)).mode! & 0o777);
  return [`removed what tattle setup changed in ${pam}`];
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
