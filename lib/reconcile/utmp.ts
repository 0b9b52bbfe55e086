/**
 * utmp(5) and wtmp records: who is logged in on a terminal, and the log of
 * logins, logouts and boots (pure parsing; reading in {@link readUtmp}).
 *
 * sshd's privileged monitor writes them for sessions with a pty: a
 * USER_PROCESS record at login, turned into DEAD_PROCESS (user and host
 * cleared) at logout, in /run/utmp (current) and appended to
 * /var/log/wtmp (history). Sessions without a pty (`ssh -N`, scp, a
 * command without -t) are not there. glibc's layout on Linux (x86_64 and
 * aarch64 alike, times as 32-bit fields): 384 bytes per record.
 *
 * @module
 */

/** Current logins. */
export const UTMP = "/run/utmp";
/** The history of logins, logouts and boots. */
export const WTMP = "/var/log/wtmp";

/** The size of one record. */
export const RECORD_BYTES = 384;

/** Record types tattle reads (utmp.h). */
export const UT = { BOOT_TIME: 2, USER_PROCESS: 7, DEAD_PROCESS: 8 } as const;

/** One record, its strings decoded. */
export interface UtmpRecord {
  type: number;
  pid: number;
  /** The terminal: `pts/0`. */
  line: string;
  user: string;
  /** The remote host, as the login program wrote it (a name or an address). */
  host: string;
  /** When, in ms since the epoch. */
  time: number;
}

const decoder = new TextDecoder("utf-8", { fatal: false });

function text(bytes: Uint8Array, offset: number, length: number): string {
  const field = bytes.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return decoder.decode(end < 0 ? field : field.subarray(0, end));
}

/**
 * The records in `bytes` (a trailing partial record is left out).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseUtmp, RECORD_BYTES, UT } from "./utmp.ts";
 * const record = new Uint8Array(RECORD_BYTES);
 * const view = new DataView(record.buffer);
 * view.setInt16(0, UT.USER_PROCESS, true);
 * view.setInt32(4, 4242, true);
 * record.set(new TextEncoder().encode("pts/0"), 8);
 * record.set(new TextEncoder().encode("alice"), 44);
 * record.set(new TextEncoder().encode("203.0.113.9"), 76);
 * view.setInt32(340, 1_795_000_000, true);
 * assert.deepEqual(parseUtmp(record), [
 *   { type: 7, pid: 4242, line: "pts/0", user: "alice", host: "203.0.113.9", time: 1_795_000_000_000 },
 * ]);
 * ```
 */
export function parseUtmp(bytes: Uint8Array): UtmpRecord[] {
  const records: UtmpRecord[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at + RECORD_BYTES <= bytes.length; at += RECORD_BYTES) {
    const seconds = view.getInt32(at + 340, true);
    const micros = view.getInt32(at + 344, true);
    records.push({
      type: view.getInt16(at, true),
      pid: view.getInt32(at + 4, true),
      line: text(bytes, at + 8, 32),
      user: text(bytes, at + 44, 32),
      host: text(bytes, at + 76, 256),
      time: seconds * 1000 + Math.floor(micros / 1000),
    });
  }
  return records;
}

/** The most tattle reads of a file: wtmp grows for as long as a host lives; its tail is enough. */
const MAX_READ_BYTES = 4 * 1024 * 1024;

/**
 * The records of `path` (its last 4 MiB, about 10,000 records, when it is
 * longer); none when the file does not exist.
 */
export async function readUtmp(path: string): Promise<UtmpRecord[]> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  try {
    const info = await file.stat();
    if (!info.isFile) throw new Error(`${path} is not a file`);
    const size = info.size - (info.size % RECORD_BYTES);
    const length = Math.min(size, MAX_READ_BYTES - (MAX_READ_BYTES % RECORD_BYTES));
    const bytes = new Uint8Array(length);
    await file.seek(size - length, Deno.SeekMode.Start);
    for (let done = 0; done < length;) {
      const read = await file.read(bytes.subarray(done));
      if (read === null) break;
      done += read;
    }
    return parseUtmp(bytes);
  } finally {
    file.close();
  }
}
