/**
 * Capturing a session event at login time: no network, only local state.
 *
 * @module
 */

import type { Config } from "../config/config.ts";
import { assertTrusted } from "../config/trust.ts";
import type { CapturedEvent } from "../delivery/record.ts";
import { LOCAL_STEP_BOUND_MS, withinBound } from "../util/deadline.ts";
import { messageOf, TattleError } from "../util/errors.ts";
import type { Account } from "../event/account.ts";
import { staticIdentity } from "../event/identity.ts";
import { ignoredBy, needsGroups } from "./ignore.ts";
import { closeAsOpened, type Session } from "./pam.ts";
import { type OpenRecord, recordOpen, takeOpen } from "./sessions.ts";

/** The host facts a capture records, injected by tests. */
export interface HostFacts {
  hostname: string;
  /** The process that opens and closes the session (pam_exec's parent, sshd). */
  sessionPid: number;
  /**
   * The user's uid and groups from the name service (`undefined`: unknown
   * user); asked only when an `ignore.groups` rule needs them.
   */
  account: (user: string) => Promise<Account | undefined>;
}

/** The running host's facts. */
export function thisHost(): HostFacts {
  return {
    hostname: Deno.hostname(),
    sessionPid: Deno.ppid,
    // Loaded on use: only an ignore.groups rule needs the name service at login.
    account: async (user) => (await import("./nss.ts")).resolveAccount(user),
  };
}

/** What a capture gave: the event, or the rule that ignores the session. */
export type Capture =
  | { record: CapturedEvent; ignored?: undefined }
  | { record?: undefined; ignored: string };

/**
 * Captures the event: a new event_id, the time PAM called tattle, and the
 * identity when the config gives it (outside EC2; on EC2 the sender adds
 * it). An open is recorded for its close; a close reports what the open
 * recorded, and the session's duration.
 *
 * A session the config's `ignore` rules match gives no event. The rules see
 * only the true user and service (pam_exec's items) and the name service's
 * groups; a close is ignored exactly when its open was, whatever the config
 * says by then, so a session is reported whole or not at all.
 *
 * A session record that cannot be written or read, or a name service that
 * cannot be asked, is reported through `warn` and the event is captured
 * without it.
 */
export async function captureEvent(
  session: Session,
  config: Config,
  time: Date,
  host: HostFacts,
  warn: (line: string) => void,
): Promise<Capture> {
  // The user and service rules need nothing more. An open that only the groups
  // could ignore needs the name service: ask it meanwhile, as a login waits for
  // every millisecond here (a close asks only without its open).
  const ignoredByName = ignoredBy(config.ignore, session.user, session.service, undefined);
  const judgedByGroups = ignoredByName === undefined && needsGroups(config.ignore);
  const openAccount = session.state === "opened" && judgedByGroups
    ? lookUp(host, session.user, warn)
    : undefined;
  // The session records live here: refuse it if others can change it. Each step is
  // bounded: on a disk that stalls, the login is reported without them.
  const dir = config.runtime_dir;
  const bounded = <T>(work: Promise<T>) => withinBound(work, LOCAL_STEP_BOUND_MS, "it");
  let stateUsable = true;
  try {
    await bounded(assertTrusted(dir, "runtime directory"));
  } catch (error) {
    if (error instanceof TattleError) throw error; // untrusted: refuse, as configured
    warn(`warning: runtime directory ${dir} not used: ${messageOf(error)}`);
    stateUsable = false;
  }
  const recordProblem = (error: unknown) =>
    warn(`warning: session record in ${dir}/sessions: ${messageOf(error)}`);

  let open: OpenRecord | undefined;
  if (session.state !== "opened" && stateUsable) {
    open = await bounded(takeOpen(dir, host.sessionPid, session)).catch((error) => {
      recordProblem(error);
      return undefined;
    });
  }
  let account: Account | undefined;
  let ignored: string | undefined;
  if (open) {
    if (open.ignored) ignored = "the session's open was ignored";
  } else if (judgedByGroups) {
    account = await (openAccount ?? lookUp(host, session.user, warn));
    ignored = ignoredBy(config.ignore, session.user, session.service, account?.groups);
  } else {
    ignored = ignoredByName;
  }
  if (session.state === "opened" && stateUsable) {
    await bounded(
      recordOpen(dir, host.sessionPid, session, time, ignored !== undefined),
    ).catch(recordProblem);
  }
  if (ignored !== undefined) return { ignored };

  const record: CapturedEvent = {
    v: 1,
    event_id: crypto.randomUUID(),
    time: time.toISOString(),
    hostname: host.hostname,
    session,
    session_pid: host.sessionPid,
  };
  if (config.identity === "none") record.identity = staticIdentity(config);
  if (account) record.account = account;
  if (open) {
    record.session = closeAsOpened(session, open);
    record.duration_seconds = Math.max(
      0,
      Math.round((time.getTime() - Date.parse(open.start)) / 1000),
    );
  }
  return { record };
}

/** The user's account, or `undefined` (said through `warn`) when the name service fails. */
async function lookUp(
  host: HostFacts,
  user: string,
  warn: (line: string) => void,
): Promise<Account | undefined> {
  try {
    return await host.account(user);
  } catch (error) {
    warn(
      `warning: groups of ${JSON.stringify(user)} unknown, ignore.groups not applied: ${
        messageOf(error)
      }`,
    );
    return undefined;
  }
}
