/**
 * The sender's journal of sessions: those it knows are open (from its
 * hooks' records and from reconciliation), those recently closed, kept
 * where a reboot does not erase them (`state_dir/sessions.json`, the
 * sender's account's) so that a session open when the host went down is
 * closed after the next boot (declaration pure; reading and writing I/O).
 *
 * @module
 */

import { SSH_CONNECTION } from "../capture/pam.ts";
import { replaceFile } from "../util/files.ts";
import { BOOT } from "./boot.ts";
import {
  array,
  type Infer,
  integer,
  literal,
  number,
  object,
  optional,
  refine,
  string,
} from "../util/shape.ts";

const TIME = refine(string(), (value) => {
  if (Number.isNaN(Date.parse(value))) throw new Error("must be an ISO 8601 time");
  return value;
}, "an ISO 8601 time");

/** One session the journal tracks. */
export const TRACKED = object({
  /** `hook:<event_id>` for a hook's session; the system's key for one reconciliation found. */
  key: string({ min: 1 }),
  /** Where tattle first learnt of it. */
  source: literal("hook", "logind", "utmp"),
  /** Who reported its open: the hook, reconciliation, or nobody (an `ignore` rule matched). */
  reported: literal("hook", "reconcile", "ignored"),
  /** The process whose end ends it: sshd's monitor (hook, logind), the utmp record's pid. */
  pid: integer({ min: 1 }),
  /** The boot it opened in (`boot.ts`'s id: seconds since the epoch). */
  boot: number(),
  /** When it opened. */
  start: TIME,
  user: string(),
  rhost: string(),
  service: string(),
  tty: string(),
  connection: optional(SSH_CONNECTION),
  authInfo: optional(string()),
  /** The open's event, when the hook reported it. */
  open_event_id: optional(string()),
  /** The system's session it was matched to (logind's or utmp's key). */
  system: optional(string()),
  /** When tattle saw or reported its end. */
  closed: optional(TIME),
});

/** One session the journal tracks. */
export type Tracked = Infer<typeof TRACKED>;

/** The journal. */
export const JOURNAL = object({
  v: refine(integer(), (v) => {
    if (v !== 1) throw new Error("is an unknown journal version");
    return 1 as const;
  }),
  /** When reconciliation first ran here: no system record older than that is news. */
  since: TIME,
  /** The boot of the last pass: a session of another boot was open when the host went down. */
  boot: optional(BOOT),
  sessions: array(TRACKED),
  /** When reconciliation found a session its hook never reported (the last day's). */
  found: array(TIME),
  /** When reconciliation reported a close that never ran (the last day's). */
  lost: array(TIME),
});

/** The journal. */
export type Journal = Infer<typeof JOURNAL>;

/** An empty journal, started at `now`. */
export function newJournal(now: number): Journal {
  return { v: 1, since: new Date(now).toISOString(), sessions: [], found: [], lost: [] };
}

/** The journal's file in a state directory. */
export function journalPath(stateDir: string): string {
  return `${stateDir}/sessions.json`;
}

/** The largest journal tattle reads: it holds a day's sessions at most. */
const MAX_BYTES = 8 * 1024 * 1024;

/**
 * The journal in `stateDir`; a new one when there is none yet.
 *
 * @throws {Error} when it exists but is not a journal (it is then left for
 * an operator to look at, and nothing reconciled over it).
 */
export async function readJournal(stateDir: string, now: number): Promise<Journal> {
  const path = journalPath(stateDir);
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return newJournal(now);
    throw error;
  }
  if (!info.isFile) throw new Error(`${path} is not a regular file`);
  if (info.size > MAX_BYTES) {
    throw new Error(`${path} is ${info.size} bytes, larger than any journal`);
  }
  try {
    return JOURNAL.parse(JSON.parse(await Deno.readTextFile(path)));
  } catch (error) {
    throw new Error(`${path} is not a session journal: ${(error as Error).message}`);
  }
}

/**
 * How many sessions reconciliation found that no hook reported, and how
 * many closes it reported that never ran, in the last day: each means a
 * hook that could not run or an sshd that was killed, which someone should
 * look into. Zero where there is no journal yet.
 */
export async function reconciledLastDay(
  stateDir: string,
  now = Date.now(),
): Promise<{ found: number; lost: number }> {
  const journal = await readJournal(stateDir, now);
  const recent = (times: string[]) => times.filter((t) => now - Date.parse(t) < DAY_MS).length;
  return { found: recent(journal.found), lost: recent(journal.lost) };
}

const DAY_MS = 24 * 3600_000;

/** Writes the journal atomically, durably. */
export async function writeJournal(stateDir: string, journal: Journal): Promise<void> {
  await replaceFile(journalPath(stateDir), JSON.stringify(journal), { sync: true });
}
