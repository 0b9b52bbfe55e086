/**
 * Session open records: what was true when a session opened, for its close
 * (I/O).
 *
 * pam_exec's parent is the sshd process that opens and later closes the
 * session, so the record is keyed by that pid. It lives in the root-only
 * runtime directory (`runtime_dir/sessions`), so the close reports the
 * open's address and authentication even if the PAM environment was changed
 * in between.
 *
 * @module
 */

import { boolean, type Infer, integer, object, optional, refine, string } from "../util/shape.ts";
import { replaceFile } from "../util/files.ts";
import { type Session, SSH_CONNECTION } from "./pam.ts";

/** What the open hook records for the close. */
export const OPEN_RECORD = object({
  v: refine(integer(), (v) => {
    if (v !== 1) throw new Error("is an unknown record version");
    return 1 as const;
  }),
  /** ISO 8601: when the session opened. */
  start: refine(string(), (value) => {
    if (Number.isNaN(Date.parse(value))) throw new Error("must be an ISO 8601 time");
    return value;
  }),
  user: string(),
  service: string(),
  connection: optional(SSH_CONNECTION),
  authInfo: optional(string()),
  /** Set when an `ignore` rule matched the open: its close is not reported either. */
  ignored: optional(boolean),
});

/** What the open hook records for the close. */
export type OpenRecord = Infer<typeof OPEN_RECORD>;

/** Whether a process exists; injected by tests. */
export type IsAlive = (pid: number) => boolean;

function recordPath(dir: string, pid: number): string {
  return `${dir}/sessions/${pid}.json`;
}

/**
 * Records that the session of process `pid` opened at `time`, and whether
 * it is ignored.
 */
export async function recordOpen(
  dir: string,
  pid: number,
  session: Session,
  time: Date,
  ignored = false,
): Promise<void> {
  const record: OpenRecord = {
    v: 1,
    start: time.toISOString(),
    user: session.user,
    service: session.service,
  };
  if (ignored) record.ignored = true;
  if (session.connection) record.connection = session.connection;
  if (session.authInfo) record.authInfo = session.authInfo;
  try {
    await replaceFile(recordPath(dir, pid), JSON.stringify(record));
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    // The first login since boot: the runtime directory is the sender's way in to the
    // lock (0755); the records are root's alone.
    await Deno.mkdir(dir, { recursive: true, mode: 0o755 });
    await Deno.mkdir(`${dir}/sessions`, { recursive: true, mode: 0o700 });
    await replaceFile(recordPath(dir, pid), JSON.stringify(record));
  }
}

/**
 * The open record of process `pid` for this session's user and service,
 * removing it; `undefined` when there is none (or it belongs to an earlier
 * process that had the same pid).
 */
export async function takeOpen(
  dir: string,
  pid: number,
  session: Pick<Session, "user" | "service">,
): Promise<OpenRecord | undefined> {
  const path = recordPath(dir, pid);
  let text: string;
  try {
    if (!(await Deno.lstat(path)).isFile) return undefined;
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  try {
    await Deno.remove(path);
  } catch (error) {
    // Another close of the same process took it first: this one has none.
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  const record = decodeOpenRecord(text);
  if (record?.user !== session.user || record.service !== session.service) return undefined;
  return record;
}

/** An open record, or `undefined` when the text is not one. */
export function decodeOpenRecord(text: string): OpenRecord | undefined {
  try {
    return OPEN_RECORD.parse(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/**
 * Removes the records of processes that are gone (sshd killed before the
 * close). Each record is judged on its own: one that cannot be removed is
 * reported and the rest are still cleaned.
 *
 * @returns how many were removed, and a line for each that could not be.
 */
export async function cleanStaleSessions(
  dir: string,
  isAlive: IsAlive,
): Promise<{ removed: number; problems: string[] }> {
  const result = { removed: 0, problems: [] as string[] };
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(`${dir}/sessions`));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return result;
    throw error;
  }
  for (const entry of entries) {
    const path = `${dir}/sessions/${entry.name}`;
    const match = /^(\d{1,10})\.json$/.exec(entry.name);
    if (match ? isAlive(Number(match[1])) : await isRecent(path)) continue;
    try {
      await Deno.remove(path);
      result.removed++;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) {
        result.problems.push(`${path}: ${(error as Error).message}`);
      }
    }
  }
  return result;
}

/** A temporary file younger than this may still be renamed into place by its hook. */
const TMP_GRACE_MS = 60_000;

async function isRecent(path: string): Promise<boolean> {
  const mtime = (await Deno.lstat(path).catch(() => undefined))?.mtime?.getTime();
  return mtime !== undefined && Math.abs(Date.now() - mtime) < TMP_GRACE_MS;
}

/**
 * Whether a process exists, from getpriority(2): the permission set denies
 * every /proc read, and this needs only `--allow-sys=getPriority`. Only
 * ESRCH means gone; any other answer counts as alive.
 */
export async function processLiveness(): Promise<IsAlive> {
  const { getPriority } = await import("node:os");
  return (pid) => {
    try {
      getPriority(pid);
      return true;
    } catch (error) {
      return !String((error as Error)?.message).includes("ESRCH");
    }
  };
}
