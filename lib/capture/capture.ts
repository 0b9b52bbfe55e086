/**
 * Capturing a session event at login time: no network, only local state.
 *
 * @module
 */

import { knownIdentity } from "../aws/identity.ts";
import type { Config } from "../config/config.ts";
import { assertTrusted } from "../config/trust.ts";
import type { CapturedEvent } from "../delivery/record.ts";
import { messageOf } from "../util/errors.ts";
import { closeAsOpened, type Session } from "./pam.ts";
import { recordOpen, takeOpen } from "./sessions.ts";

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
 * identity if any. An open is recorded for its close; a close reports what
 * the open recorded, and the session's duration.
 *
 * A session record that cannot be written or read is reported through
 * `warn` and the event is captured without it.
 */
export async function captureEvent(
  session: Session,
  config: Config,
  time: Date,
  host: HostFacts,
  warn: (line: string) => void,
): Promise<CapturedEvent> {
  // The identity cache and session records live here: refuse it if others can change it
  // (the cache is read meanwhile, and used only once the directory is trusted).
  const [, identity] = await Promise.all([
    assertTrusted(config.state_dir, "state directory"),
    knownIdentity(config),
  ]);
  const record: CapturedEvent = {
    v: 1,
    event_id: crypto.randomUUID(),
    time: time.toISOString(),
    hostname: host.hostname,
    session,
  };
  if (identity) record.identity = identity;
  try {
    if (session.state === "opened") {
      await recordOpen(config.state_dir, host.sessionPid, session, time);
    } else {
      const open = await takeOpen(config.state_dir, host.sessionPid, session);
      if (open) {
        record.session = closeAsOpened(session, open);
        record.duration_seconds = Math.max(
          0,
          Math.round((time.getTime() - Date.parse(open.start)) / 1000),
        );
      }
    }
  } catch (error) {
    warn(`warning: session record in ${config.state_dir}/sessions: ${messageOf(error)}`);
  }
  return record;
}
