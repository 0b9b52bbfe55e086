/**
 * systemd-logind's sessions, through loginctl (I/O in {@link readLogind};
 * parsing pure).
 *
 * logind tracks every session a PAM stack with pam_systemd opens, pty or
 * not, with its user, service, remote host and leader: the process that
 * registered it, which for sshd is the privileged monitor that runs the
 * session's PAM stack, so the same process that runs tattle's hook.
 * `loginctl show-session` prints properties as `Key=value` lines, one
 * block per session, "intended to be used whenever computer-parsable
 * output is required" (loginctl(1)); `list-sessions --no-legend` gives the
 * session ids in its first column.
 *
 * @module
 */

/** systemd's loginctl; the permission set allows running it (the sender's reconciliation). */
export const LOGINCTL = "/usr/bin/loginctl";

/** The properties tattle reads of each session. */
export const SESSION_PROPERTIES = [
  "Id",
  "Name",
  "Leader",
  "Service",
  "Remote",
  "RemoteHost",
  "TTY",
  "TimestampMonotonic",
  "State",
] as const;

/** A session as logind describes it. */
export interface LogindSession {
  id: string;
  user: string;
  leader: number;
  service: string;
  remote: boolean;
  remoteHost: string;
  tty: string;
  /** When it was created, in µs of CLOCK_MONOTONIC (since boot). */
  createdMonotonicUs: number;
  /** `online`, `active` or `closing`. */
  state: string;
}

/**
 * The session ids in `loginctl list-sessions --no-legend` output.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sessionIds } from "./logind.ts";
 * assert.deepEqual(sessionIds("      2 1000 alice seat0 tty2\n     c5 1001 bob        pts/0\n"), ["2", "c5"]);
 * ```
 */
export function sessionIds(listing: string): string[] {
  return listing.split("\n").map((line) => line.trim().split(/\s+/)[0])
    .filter((id) => /^[A-Za-z0-9_-]+$/.test(id ?? ""));
}

/**
 * The sessions in `loginctl show-session -p … ID…` output: blocks of
 * `Key=value` lines separated by a blank line. A block without an id or
 * leader is left out.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseShowSession } from "./logind.ts";
 * const [session] = parseShowSession(
 *   "Id=5\nName=bob\nLeader=4242\nService=sshd\nRemote=yes\nRemoteHost=203.0.113.9\nTTY=\n" +
 *     "TimestampMonotonic=81234567\nState=active\n",
 * );
 * assert.equal(session.leader, 4242);
 * assert.equal(session.remote, true);
 * assert.equal(session.createdMonotonicUs, 81234567);
 * ```
 */
export function parseShowSession(output: string): LogindSession[] {
  const sessions: LogindSession[] = [];
  for (const block of output.split(/\n\s*\n/)) {
    const properties = new Map<string, string>();
    for (const line of block.split("\n")) {
      const at = line.indexOf("=");
      if (at > 0) properties.set(line.slice(0, at), line.slice(at + 1));
    }
    const id = properties.get("Id");
    const leader = Number(properties.get("Leader"));
    if (!id || !Number.isInteger(leader) || leader <= 0) continue;
    sessions.push({
      id,
      user: properties.get("Name") ?? "",
      leader,
      service: properties.get("Service") ?? "",
      remote: properties.get("Remote") === "yes",
      remoteHost: properties.get("RemoteHost") ?? "",
      tty: properties.get("TTY") ?? "",
      createdMonotonicUs: Number(properties.get("TimestampMonotonic") ?? NaN),
      state: properties.get("State") ?? "",
    });
  }
  return sessions;
}

/** Runs loginctl with `args`; its stdout. Injected by tests. */
export type RunLoginctl = (args: string[], signal: AbortSignal) => Promise<string>;

const runLoginctl: RunLoginctl = async (args, signal) => {
  const out = await new Deno.Command(LOGINCTL, {
    args,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal,
  }).output();
  if (!out.success) {
    const said = new TextDecoder().decode(out.stderr).trim().split("\n")[0];
    throw new Error(`${LOGINCTL} ${args[0]}: exit ${out.code}${said ? `: ${said}` : ""}`);
  }
  return new TextDecoder().decode(out.stdout);
};

/** How long the two loginctl runs may take. */
const LOGINCTL_BOUND_MS = 5_000;

/** Every session logind tracks now. */
export async function readLogind(run: RunLoginctl = runLoginctl): Promise<LogindSession[]> {
  const signal = AbortSignal.timeout(LOGINCTL_BOUND_MS);
  const ids = sessionIds(await run(["list-sessions", "--no-legend", "--no-pager"], signal));
  if (ids.length === 0) return [];
  const properties = SESSION_PROPERTIES.flatMap((name) => ["-p", name]);
  return parseShowSession(await run(["show-session", "--no-pager", ...properties, ...ids], signal));
}
