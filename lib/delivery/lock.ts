/**
 * The sender lock: whoever sends from the spool (the sender, `tattle
 * flush`, an inline hook) holds it for as long as it sends, so no two
 * processes send the same record; the kernel releases it if the holder dies
 * (I/O).
 *
 * The lock file is in `runtime_dir`, which only root can change, not in the
 * spool, which the sender's account owns: root's hooks open it to see
 * whether a sender runs, and a file that account could replace (a link to a
 * device, a FIFO) must never be opened by root. The sender's account opens
 * it read-only, which is all flock(2) needs.
 *
 * @module
 */

import { configError } from "../util/errors.ts";

/** A held lock. */
export interface SenderLock {
  release(): void;
}

/**
 * Takes the lock if nobody holds it.
 *
 * @throws {Error} when the lock file is missing and this process cannot create it.
 */
export async function tryLock(path: string): Promise<SenderLock | undefined> {
  // Off the main thread, as on the hook's path: a lock on a stalled file system must not
  // hold the thread the watchdog's timer needs.
  const file = await openLockFile(path);
  return lockedOrClosed(file, await file.tryLock(true));
}

/** The lock file, open but not locked. */
export interface LockFile {
  /** Takes the lock if nobody holds it, synchronously; closes the file when it cannot. */
  take(): SenderLock | undefined;
}

/**
 * Opens the lock file, so that a caller can do something synchronously
 * right before it tries the lock (the sender's start, never a hook).
 */
export async function openLock(path: string): Promise<LockFile> {
  const file = await openLockFile(path);
  return { take: () => lockedOrClosed(file, file.tryLockSync(true)) };
}

async function openLockFile(path: string): Promise<Deno.FsFile> {
  try {
    return await Deno.open(path, { read: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const dir = path.slice(0, path.lastIndexOf("/")) || "/";
  // Root's runtime directory: only root makes files there, never the sender's account. A
  // directory of the running user's own (tattle run by an unprivileged user, on its own spool)
  // is that user's to fill.
  if (Deno.uid() !== 0 && await ownerOfNearest(dir) !== Deno.uid()) {
    throw configError(
      `the lock file ${path} is missing and only root can create it: run tattle setup ` +
        "(or systemd-tmpfiles --create)",
    );
  }
  await Deno.mkdir(dir, { recursive: true, mode: 0o755 });
  // Readable by the sender's account, for flock.
  const created = await Deno.open(path, { write: true, create: true, mode: 0o644 });
  created.close();
  return await Deno.open(path, { read: true });
}

/** The owner of `dir`, or of the nearest directory above it that exists. */
async function ownerOfNearest(dir: string): Promise<number | null | undefined> {
  for (let path = dir; path !== ""; path = path.slice(0, path.lastIndexOf("/"))) {
    const info = await Deno.stat(path).catch(() => undefined);
    if (info) return info.uid;
  }
  return undefined;
}

function lockedOrClosed(file: Deno.FsFile, locked: boolean): SenderLock | undefined {
  if (locked) return { release: () => file.close() };
  file.close();
  return undefined;
}

/** Waits up to `ms` for the lock (polling: a blocking lock cannot be abandoned). */
export async function lockWithin(path: string, ms: number): Promise<SenderLock | undefined> {
  const end = performance.now() + ms;
  for (;;) {
    const lock = await tryLock(path);
    if (lock || performance.now() >= end) return lock;
    await new Promise((r) => setTimeout(r, Math.min(25, Math.max(1, end - performance.now()))));
  }
}

/** Whether some process holds the lock (is sending) right now. */
export async function lockHeld(path: string): Promise<boolean> {
  const lock = await tryLock(path);
  lock?.release();
  return lock === undefined;
}
