/**
 * The system's own sessions, from logind or utmp/wtmp, in one shape
 * (pure).
 *
 * @module
 */

import type { LogindSession } from "./logind.ts";
import { UT, type UtmpRecord } from "./utmp.ts";

/** A session as the system recorded it. */
export interface SystemSession {
  /** Stable across passes: which record, of which source. */
  key: string;
  source: "logind" | "utmp";
  /** The process whose end ends the session: logind's leader (sshd's monitor), utmp's pid. */
  pid: number;
  user: string;
  rhost: string;
  /** The PAM service (logind); utmp has none: its remote logins are reported as sshd. */
  service: string;
  tty: string;
  /** When it opened, ms since the epoch. */
  start: number;
  /** When it ended, where the record says (wtmp). */
  end?: number;
  endedBy?: "logout" | "reboot";
}

/**
 * logind's sessions of `services`; their start from the monotonic clock and
 * the boot time (`bootMs`).
 */
export function fromLogind(
  sessions: LogindSession[],
  bootMs: number,
  services: readonly string[],
): SystemSession[] {
  return sessions.filter((s) =>
    services.includes(s.service) && Number.isFinite(s.createdMonotonicUs)
  )
    .map((s) => ({
      key: `logind:${s.id}:${s.createdMonotonicUs}`,
      source: "logind" as const,
      pid: s.leader,
      user: s.user,
      rhost: s.remoteHost,
      service: s.service,
      tty: s.tty,
      start: Math.round(bootMs + s.createdMonotonicUs / 1000),
    }));
}

/** Whether a utmp record is a remote login on a pty (not a local X display, `:0`). */
function remotePty(record: UtmpRecord): boolean {
  return record.line.startsWith("pts/") && record.host !== "" && !record.host.startsWith(":");
}

function fromRecord(record: UtmpRecord): SystemSession {
  return {
    key: `utmp:${record.line}:${record.pid}:${record.time}`,
    source: "utmp",
    pid: record.pid,
    user: record.user,
    rhost: record.host,
    service: "sshd",
    tty: record.line,
    start: record.time,
  };
}

/**
 * The remote pty logins /run/utmp holds now.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fromUtmp } from "./system.ts";
 * const [s] = fromUtmp([
 *   { type: 7, pid: 4242, line: "pts/0", user: "alice", host: "203.0.113.9", time: 1000 },
 *   { type: 7, pid: 77, line: "tty1", user: "root", host: "", time: 900 },
 * ]);
 * assert.equal(s.user, "alice");
 * assert.equal(s.key, "utmp:pts/0:4242:1000");
 * ```
 */
export function fromUtmp(records: UtmpRecord[]): SystemSession[] {
  return records.filter((r) => r.type === UT.USER_PROCESS && remotePty(r)).map(fromRecord);
}

/**
 * The remote pty logins wtmp shows ended: a login, then a logout on the
 * same line, or a boot (the host went down with it).
 */
export function fromWtmp(records: UtmpRecord[]): SystemSession[] {
  const open = new Map<string, UtmpRecord>();
  const ended: SystemSession[] = [];
  for (const record of records) {
    if (record.type === UT.USER_PROCESS && remotePty(record)) {
      open.set(record.line, record);
    } else if (record.type === UT.DEAD_PROCESS && open.has(record.line)) {
      const login = open.get(record.line)!;
      open.delete(record.line);
      ended.push({ ...fromRecord(login), end: record.time, endedBy: "logout" });
    } else if (record.type === UT.BOOT_TIME) {
      for (const login of open.values()) {
        ended.push({ ...fromRecord(login), end: record.time, endedBy: "reboot" });
      }
      open.clear();
    }
  }
  return ended;
}
