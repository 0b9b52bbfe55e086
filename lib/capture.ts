/**
 * Capturing a session event at login time: no network, only local state.
 *
 * @module
 */

import type { Config } from "./config.ts";
import { assertTrusted } from "./trust.ts";
import { knownIdentity } from "./identity.ts";
import type { Session } from "./pam.ts";
import type { CapturedEvent } from "./record.ts";
import { processStartTime, recordOpen, takeDuration } from "./sessions.ts";

/** The host facts a capture records, injected by tests. */
export interface HostFacts {
  hostname: string;
  /** The process that opens and closes the session (pam_exec's parent, sshd). */
  sessionPid: number;
}

/** The running host's facts. */
export function thisHost(): HostFacts {
  return { hostname: Deno.hostname(), sessionPid: Deno.ppid };
}

/**
 * Captures the event: a new event_id, the time PAM called tattle, the cached
 * identity if any, and on a close the session's duration.
 */
export async function captureEvent(
  session: Session,
  config: Config,
  time: Date,
  host: HostFacts,
): Promise<CapturedEvent> {
  // The identity cache and session records live here: refuse it if others can change it.
  await assertTrusted(config.state_dir, "state directory");
  const record: CapturedEvent = {
    v: 1,
    event_id: crypto.randomUUID(),
    time: time.toISOString(),
    hostname: host.hostname,
    session,
  };
  const identity = await knownIdentity(config);
  if (identity) record.identity = identity;
  const duration = await sessionDuration(session, config.state_dir, host.sessionPid, time);
  if (duration !== undefined) record.duration_seconds = duration;
  return record;
}

/** Records an open; on a close returns the seconds since the open. Never fails the event. */
async function sessionDuration(
  session: Session,
  stateDir: string,
  pid: number,
  time: Date,
): Promise<number | undefined> {
  try {
    const procStart = await processStartTime(pid);
    if (session.state === "opened") {
      await recordOpen(stateDir, pid, procStart, time);
      return undefined;
    }
    return await takeDuration(stateDir, pid, procStart, time);
  } catch {
    return undefined;
  }
}
