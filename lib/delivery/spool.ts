/**
 * The spool: one file per undelivered event in a directory only the
 * sender's account (or root) can enter (I/O).
 *
 * Files are written atomically (temporary file, fsync, rename, fsync of the
 * directory), so a process killed at any instant leaves either a complete
 * event or a temporary file that is never sent. Names sort oldest first.
 * Readers never follow symlinks. Root's hook writes records into a spool
 * the sender's account owns only by creating new files (never opening one
 * that exists), renaming and removing: nothing that account can plant there
 * makes root write elsewhere.
 *
 * @module
 */

import { createFile } from "../util/files.ts";
import { type CapturedEvent, decodeRecord, encodeRecord } from "./record.ts";

const TMP_PREFIX = ".tmp-";

/**
 * A new temporary file's path in the spool, for writes that end in a rename:
 * if a crash leaves it, the spool's own clean-up removes it.
 */
export function spoolTempPath(dir: string, tag = ""): string {
  return `${dir}/${TMP_PREFIX}${tag}${crypto.randomUUID()}`;
}
const DROPPED_FILE = ".dropped";
/** Where unreadable records and entries EventBridge rejects for good are moved. */
export const FAILED_DIR = "failed";

/**
 * Creates the spool directory and its `failed/` (0700) where missing, and
 * checks they are real directories. An existing directory's mode is left for
 * the trust check to judge, not silently repaired.
 */
export async function prepareSpool(dir: string): Promise<void> {
  for (const path of [dir, `${dir}/${FAILED_DIR}`]) {
    try {
      await Deno.mkdir(path, { mode: 0o700 });
      await Deno.chmod(path, 0o700); // mkdir's mode is masked by the umask
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
    const info = await Deno.lstat(path);
    if (!info.isDirectory) throw new Error(`${path} is not a directory`);
  }
}

const TIME_DIGITS = 15;

/** The file name of a record: its time (ms, zero-padded) then its event_id. */
export function recordName(record: CapturedEvent): string {
  const ms = String(Date.parse(record.time)).padStart(TIME_DIGITS, "0");
  return `${ms}-${record.event_id.replace(/[^0-9A-Za-z-]/g, "")}.json`;
}

/** The time (ms since the epoch) in a record's file name; NaN when the name has none. */
export function recordNameTime(name: string): number {
  return Number(name.slice(0, TIME_DIGITS));
}

/**
 * Writes a record atomically; returns its file name. Once `signal` aborts
 * (the writer gave up waiting and sends the event some other way), the
 * record is not put in place.
 */
export async function spoolWrite(
  dir: string,
  record: CapturedEvent,
  signal?: AbortSignal,
): Promise<string> {
  const name = recordName(record);
  const tmp = spoolTempPath(dir);
  // Readable by the sender's account; the directory keeps everyone else out.
  await createFile(tmp, encodeRecord(record), { sync: true, mode: 0o644 });
  if (signal?.aborted) {
    await Deno.remove(tmp).catch(() => {});
    throw new Error("abandoned");
  }
  await Deno.rename(tmp, `${dir}/${name}`);
  await syncDir(dir);
  return name;
}

/** Names of the spooled records, oldest first. */
export async function spoolList(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name.endsWith(".json") && !entry.name.startsWith(".")) names.push(entry.name);
  }
  return names.sort();
}

/**
 * Reads one record.
 *
 * @throws {Error} saying why the file is not a usable record.
 */
export async function spoolRead(dir: string, name: string): Promise<CapturedEvent> {
  const path = `${dir}/${name}`;
  const info = await Deno.lstat(path);
  if (!info.isFile) throw new Error(info.isSymlink ? "is a symlink" : "is not a regular file");
  if (info.size > 64 * 1024) throw new Error(`is ${info.size} bytes, larger than any record`);
  return decodeRecord(await Deno.readTextFile(path));
}

/** Deletes delivered records, then makes the deletions durable. */
export async function spoolRemove(dir: string, names: string[]): Promise<void> {
  for (const name of names) {
    await Deno.remove(`${dir}/${name}`).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
  }
  if (names.length > 0) await syncDir(dir);
}

/**
 * Moves a record to `failed/` with a `.reason` file beside it.
 *
 * @throws {Error} when the record could not be moved (it stays spooled).
 */
export async function spoolQuarantine(dir: string, name: string, reason: string): Promise<void> {
  const target = `${dir}/${FAILED_DIR}/${name}`;
  // The reason first: a record in failed/ always says why.
  await Deno.writeTextFile(`${target}.reason`, `${reason}\n`, { mode: 0o600 });
  await Deno.rename(`${dir}/${name}`, target);
  await syncDir(dir);
}

/**
 * Moves every record in `failed/` back into the spool (its `.reason` goes),
 * once the operator has fixed what made the service reject them.
 *
 * @returns how many records were moved back.
 */
export async function requeueFailed(dir: string): Promise<number> {
  let moved = 0;
  for await (const entry of Deno.readDir(`${dir}/${FAILED_DIR}`)) {
    if (!entry.isFile || !entry.name.endsWith(".json")) continue;
    await Deno.rename(`${dir}/${FAILED_DIR}/${entry.name}`, `${dir}/${entry.name}`);
    await Deno.remove(`${dir}/${FAILED_DIR}/${entry.name}.reason`).catch(() => {});
    moved++;
  }
  if (moved > 0) await syncDir(dir);
  return moved;
}

/**
 * Drops the oldest records beyond `max`, adding them to the dropped count;
 * returns the names dropped.
 */
export async function enforceLimit(dir: string, max: number): Promise<string[]> {
  const names = await spoolList(dir);
  const excess = names.slice(0, Math.max(0, names.length - max));
  if (excess.length === 0) return [];
  await spoolRemove(dir, excess);
  await setDropped(dir, (await droppedCount(dir)) + excess.length);
  return excess;
}

/** How many events were dropped from a full spool since the last delivery. */
export async function droppedCount(dir: string): Promise<number> {
  try {
    const count = Number(await Deno.readTextFile(`${dir}/${DROPPED_FILE}`));
    return Number.isInteger(count) && count > 0 ? count : 0;
  } catch {
    return 0;
  }
}

/** Records the dropped count (0 clears it). */
export async function setDropped(dir: string, count: number): Promise<void> {
  if (count === 0) {
    await Deno.remove(`${dir}/${DROPPED_FILE}`).catch(() => {});
    return;
  }
  await Deno.writeTextFile(`${dir}/${DROPPED_FILE}`, String(count), { mode: 0o600 });
}

/** Temporary files older than this were left by a killed writer. */
const STALE_TMP_MS = 10 * 60_000;

/** Removes temporary files left by writers killed mid-write. */
export async function removeStaleTemporaries(dir: string, now = Date.now()): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.startsWith(TMP_PREFIX)) continue;
    const info = await Deno.lstat(`${dir}/${entry.name}`).catch(() => undefined);
    if (info?.mtime && now - info.mtime.getTime() > STALE_TMP_MS) {
      await Deno.remove(`${dir}/${entry.name}`).catch(() => {});
    }
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await Deno.open(dir, { read: true });
  try {
    await handle.sync();
  } finally {
    handle.close();
  }
}
