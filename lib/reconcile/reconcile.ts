/**
 * Reconciliation: the system's own records of sessions (logind, utmp and
 * wtmp) held against what tattle knows, so that no session goes
 * unreported when its hook could not run, and no open session is
 * forgotten when its close never ran (no I/O: the pass in `pass.ts` reads
 * and writes).
 *
 * What tattle knows is the journal (`journal.ts`), fed by its hooks'
 * records in the spool, which carry the process that opens and closes the
 * session (sshd's monitor, pam_exec's parent). How the sides are keyed:
 *
 * - logind's session has a leader, the process that registered it: sshd's
 *   monitor, so the hook's `session_pid`. The same pid, user and boot, and
 *   times within {@link MATCH_WINDOW_MS}, are the same session.
 * - utmp's record has a pid (sshd's child on the session's pty) and a time
 *   (when the pty was made, after the session opened), but no service and
 *   no link to the monitor that an unprivileged reader can see: the same
 *   user and remote host, the pty made no earlier than the hook ran and
 *   within {@link MATCH_WINDOW_MS} after, the closest first.
 *
 * @module
 */

import type { CapturedEvent } from "../delivery/record.ts";
import type { Journal, Tracked } from "./journal.ts";
import type { SystemSession } from "./system.ts";

/** How long a session is remembered once closed, and how far back the system's news goes. */
export const RETAIN_MS = 24 * 3600_000;

/** How far apart a hook's time and the system's record of the same session can be. */
export const MATCH_WINDOW_MS = 10 * 60_000;

/** Clocks and record times round differently: a record may read this much before the hook. */
const SKEW_MS = 2_000;

/** What reconciliation works from. */
export interface ReconcileInput {
  journal: Journal;
  /** Now, ms since the epoch. */
  now: number;
  /** This boot's start (`boot.ts`'s id), ms since the epoch. */
  bootMs: number;
  hostname: string;
  /** The records waiting in the spool, by file name. */
  pending: Array<{ name: string; record: CapturedEvent }>;
  /** The system's sessions, current and (wtmp) recently ended; `undefined`: no source here. */
  system?: SystemSession[];
  /** Whether a process exists (asked before `pending` was listed: see pass.ts). */
  alive: (pid: number) => boolean;
  /** The `ignore` rule that matches a session of `user` through `service`, if any. */
  ignoredBy: (user: string, service: string) => Promise<string | undefined>;
  /**
   * logind's sessions younger than this are left for the next pass: pam_systemd
   * registers a session before tattle's hook runs.
   */
  graceMs: number;
}

/** What reconciliation decided. */
export interface ReconcileOutput {
  journal: Journal;
  /** Events to spool. */
  spool: CapturedEvent[];
  /** Names of spooled records not to send: a late hook's open, already reported. */
  drop: string[];
  /** Lines to log. */
  notes: string[];
}

const iso = (ms: number) => new Date(ms).toISOString();
const time = (text: string) => Date.parse(text);

/** Reconciles once; see the module's documentation. */
export async function reconcile(input: ReconcileInput): Promise<ReconcileOutput> {
  const { now, hostname } = input;
  const boot = Math.round(input.bootMs / 1000);
  const sessions: Tracked[] = input.journal.sessions.map((s) => ({ ...s }));
  const out: ReconcileOutput = { journal: input.journal, spool: [], drop: [], notes: [] };
  const found = [...input.journal.found];
  const lost = [...input.journal.lost];
  const close = (s: Tracked, at: number, how: { close?: "lost" | "reboot"; found?: boolean }) => {
    out.spool.push(closeOf(s, at, how, hostname));
    s.closed = iso(now);
    if (how.close) lost.push(iso(now));
  };

  // 1. The hooks' records: opens start tracking, closes end it; a hook's open for a session
  //    reconciliation has reported already is a duplicate.
  const byTime = [...input.pending].sort((a, b) => time(a.record.time) - time(b.record.time));
  for (const { name, record } of byTime) {
    const pid = record.session_pid;
    if (pid === undefined) continue;
    const { session } = record;
    if (session.state === "opened") {
      const tracked = sessions.some((s) =>
        s.open_event_id === record.event_id ||
        (record.system_session !== undefined && s.system === record.system_session)
      );
      if (tracked) continue;
      if (record.system_session) {
        // Reconciliation's own, spooled by a pass that ended before it wrote the journal.
        sessions.push(trackedOf(record, boot, record.system_session));
        continue;
      }
      const reported = sessions.find((s) =>
        s.reported === "reconcile" && !s.closed && sameSession(s, record, boot)
      );
      if (reported) {
        out.drop.push(name);
        out.notes.push(
          `the open of ${JSON.stringify(session.user)}'s session (sshd ${pid}) came after ` +
            "reconciliation reported it: not sent twice",
        );
        continue;
      }
      sessions.push(trackedOf(record, boot));
    } else if (session.state === "closed") {
      const open = sessions.find((s) =>
        !s.closed && record.system_session !== undefined && s.system === record.system_session
      ) ??
        sessions.find((s) =>
          !s.closed && s.pid === pid && s.user === session.user
        ) ??
        sessions.filter((s) =>
          !s.closed && s.source === "utmp" && s.user === session.user &&
          sameHost(s.rhost, session.rhost)
        ).sort((a, b) => time(a.start) - time(b.start))[0];
      if (open) open.closed = record.time;
    }
  }

  // 2. Sessions of an earlier boot still open: the host went down with them.
  for (const s of sessions) {
    if (s.closed || s.reported === "ignored" || s.boot === boot) continue;
    close(s, input.bootMs, { close: "reboot", found: s.reported === "reconcile" });
    out.notes.push(`${describe(s)} was open when the host went down: closed (reboot)`);
  }

  // 3. The system's sessions: matched to what tattle knows, or reported.
  const ended = new Map<string, number>();
  if (input.system) {
    const since = Math.max(time(input.journal.since), now - RETAIN_MS);
    for (const system of [...input.system].sort((a, b) => a.start - b.start)) {
      if (system.end !== undefined) ended.set(system.key, system.end);
      const known = sessions.find((s) => s.system === system.key) ??
        matchSystem(sessions, system, boot);
      if (known) {
        known.system = system.key;
        if (system.end !== undefined && !known.closed && known.reported === "reconcile") {
          close(known, system.end, {
            close: system.endedBy === "reboot" ? "reboot" : undefined,
            found: true,
          });
        }
        continue;
      }
      if (system.start < since && system.end !== undefined) continue; // history, not news
      if (system.source === "logind" && now - system.start < input.graceMs) continue;
      const rule = await input.ignoredBy(system.user, system.service);
      const tracked: Tracked = {
        key: system.key,
        source: system.source,
        reported: rule ? "ignored" : "reconcile",
        pid: system.pid,
        boot,
        start: iso(system.start),
        user: system.user,
        rhost: system.rhost,
        service: system.service,
        tty: system.tty,
        system: system.key,
      };
      sessions.push(tracked);
      if (rule) {
        if (system.end !== undefined) tracked.closed = iso(now);
        continue;
      }
      const open = openOf(system, hostname);
      tracked.open_event_id = open.event_id;
      out.spool.push(open);
      found.push(iso(now));
      out.notes.push(
        `${describe(tracked)}: its hook never reported it; reported from ${system.source}`,
      );
      if (system.end !== undefined) {
        close(tracked, system.end, {
          close: system.endedBy === "reboot" ? "reboot" : undefined,
          found: true,
        });
      }
    }
  }

  // 4. Open sessions whose process is gone: their close never ran. The hook's close, when
  //    there was one, was read above (it is spooled before its sshd can exit).
  for (const s of sessions) {
    if (s.closed || s.reported === "ignored" || input.alive(s.pid)) continue;
    const end = s.system === undefined ? undefined : ended.get(s.system);
    close(s, end ?? now, { close: "lost", found: s.reported === "reconcile" });
    out.notes.push(`${describe(s)}: its process is gone and its close never ran: closed (lost)`);
  }

  // 5. Forget what is long closed and no longer listed by the system.
  const listed = new Set((input.system ?? []).map((s) => s.key));
  const kept = sessions.filter((s) =>
    !s.closed || now - time(s.closed) < RETAIN_MS ||
    (s.system !== undefined && listed.has(s.system))
  );
  const recent = (times: string[]) => times.filter((t) => now - time(t) < RETAIN_MS);
  out.journal = {
    ...input.journal,
    sessions: kept,
    found: recent(found),
    lost: recent(lost),
  };
  return out;
}

/**
 * What the journal tracks of an open in the spool: a hook's, or (with the
 * system's key) reconciliation's own.
 */
function trackedOf(record: CapturedEvent, boot: number, system?: string): Tracked {
  const { session } = record;
  return {
    key: system ?? `hook:${record.event_id}`,
    source: system === undefined ? "hook" : system.startsWith("logind:") ? "logind" : "utmp",
    reported: system === undefined ? "hook" : "reconcile",
    pid: record.session_pid!,
    boot,
    start: record.time,
    user: session.user,
    rhost: session.rhost,
    service: session.service,
    tty: session.tty,
    ...(session.connection ? { connection: session.connection } : {}),
    ...(session.authInfo ? { authInfo: session.authInfo } : {}),
    open_event_id: record.event_id,
    ...(system === undefined ? {} : { system }),
  };
}

/** Whether a tracked session, reported by reconciliation, is the one a hook's open reports. */
function sameSession(s: Tracked, record: CapturedEvent, boot: number): boolean {
  const { session } = record;
  if (s.user !== session.user || s.boot !== boot) return false;
  const hookTime = time(record.time);
  if (s.source === "logind") {
    return s.pid === record.session_pid && Math.abs(time(s.start) - hookTime) <= MATCH_WINDOW_MS;
  }
  return sameHost(s.rhost, session.rhost) && withinWindow(hookTime, time(s.start));
}

/** The tracked session a system record is about, if tattle knows it. */
function matchSystem(
  sessions: Tracked[],
  system: SystemSession,
  boot: number,
): Tracked | undefined {
  if (system.source === "logind") {
    return sessions.find((s) =>
      s.system === undefined && s.pid === system.pid && s.user === system.user &&
      s.boot === boot && Math.abs(time(s.start) - system.start) <= MATCH_WINDOW_MS
    );
  }
  // utmp: the hook ran first; the pty is made after. The closest earlier hook wins.
  return sessions.filter((s) =>
    s.system === undefined && s.source === "hook" && s.user === system.user &&
    sameHost(s.rhost, system.rhost) && withinWindow(time(s.start), system.start)
  ).sort((a, b) => time(b.start) - time(a.start))[0];
}

/** Whether a pty made at `ptyTime` can belong to a session whose hook ran at `hookTime`. */
function withinWindow(hookTime: number, ptyTime: number): boolean {
  return ptyTime + SKEW_MS >= hookTime && ptyTime - hookTime <= MATCH_WINDOW_MS;
}

/** Hosts as PAM and utmp give them: equal, or one cut short (utmp's field is bounded). */
function sameHost(a: string, b: string): boolean {
  if (a === b) return true;
  const [short, long] = a.length < b.length ? [a, b] : [b, a];
  return short.length >= 16 && long.startsWith(short);
}

function describe(s: Tracked): string {
  return `${JSON.stringify(s.user)}'s session from ${JSON.stringify(s.rhost)} (since ${s.start})`;
}

/** The open of a session reconciliation found, as the hook would have captured it. */
function openOf(system: SystemSession, hostname: string): CapturedEvent {
  return {
    v: 1,
    event_id: crypto.randomUUID(),
    time: new Date(system.start).toISOString(),
    hostname,
    session: {
      state: "opened",
      user: system.user,
      rhost: system.rhost,
      service: system.service,
      tty: system.tty,
      truncated: [],
    },
    session_pid: system.pid,
    found_by: "reconcile",
    system_session: system.key,
  };
}

/** The close of a tracked session, at `at`. */
function closeOf(
  s: Tracked,
  at: number,
  how: { close?: "lost" | "reboot"; found?: boolean },
  hostname: string,
): CapturedEvent {
  const record: CapturedEvent = {
    v: 1,
    event_id: crypto.randomUUID(),
    time: new Date(at).toISOString(),
    hostname,
    session: {
      state: "closed",
      user: s.user,
      rhost: s.rhost,
      service: s.service,
      tty: s.tty,
      truncated: [],
      ...(s.connection ? { connection: s.connection } : {}),
      ...(s.authInfo ? { authInfo: s.authInfo } : {}),
    },
    session_pid: s.pid,
    duration_seconds: Math.max(0, Math.round((at - time(s.start)) / 1000)),
  };
  if (how.close) record.close = how.close;
  if (how.found) record.found_by = "reconcile";
  if (s.reported === "reconcile" && s.system) record.system_session = s.system;
  return record;
}
