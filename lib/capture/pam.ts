/**
 * The PAM session that pam_exec describes in tattle's environment (pure).
 *
 * @module
 */

import { SETUP_LINE } from "../setup/pam_line.ts";
import { usageError } from "../util/errors.ts";
import { array, type Infer, integer, literal, object, optional, string } from "../util/shape.ts";
import type { EnvReader } from "./environment.ts";

/** The endpoints of the SSH connection, from SSH_CONNECTION. */
export const SSH_CONNECTION = object({
  clientIp: string({ min: 1 }),
  clientPort: integer({ min: 0, max: 65535 }),
  serverIp: string({ min: 1 }),
  serverPort: integer({ min: 0, max: 65535 }),
});

/** The endpoints of the SSH connection. */
export type SshConnection = Infer<typeof SSH_CONNECTION>;

/** One PAM session open or close, as read from the environment (and spooled). */
export const SESSION = object({
  /** Whether the session is starting or ending ("test": `doctor --send-test`). */
  state: literal("opened", "closed", "test"),
  user: string(),
  rhost: string(),
  service: string(),
  tty: string(),
  connection: optional(SSH_CONNECTION),
  /** SSH_AUTH_INFO_0 as OpenSSH wrote it (bounded), when present. */
  authInfo: optional(string()),
  /** Names of the event fields whose input was cut to {@link LIMITS}. */
  truncated: array(string()),
  /** Sorted names of variables that show someone tried to steer the event (README, Security). */
  tamper: optional(array(string())),
});

/** One PAM session open or close. */
export type Session = Infer<typeof SESSION>;

/** Whether the session is starting or ending. */
export type SessionState = Session["state"];

/** Longest accepted value of each input; longer values are cut. */
export const LIMITS = {
  pamValue: 256,
  sshConnection: 256,
  authInfo: 4096,
} as const;

const STATES: Record<string, SessionState | undefined> = {
  open_session: "opened",
  close_session: "closed",
};

/**
 * Reads the session from the PAM environment.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { envFrom } from "./environment.ts";
 * import { readSession } from "./pam.ts";
 * const session = readSession(envFrom({
 *   PAM_TYPE: "close_session",
 *   PAM_USER: "alice",
 *   PAM_RHOST: "203.0.113.9",
 *   SSH_CONNECTION: "203.0.113.9 50022 10.0.0.12 22",
 * }));
 * assert.equal(session.state, "closed");
 * assert.equal(session.connection?.clientPort, 50022);
 * ```
 *
 * @throws {TattleError} exit 64 when PAM_TYPE is not a session open or close:
 * tattle belongs in the `session` stack only.
 */
export function readSession(env: EnvReader): Session {
  const type = env("PAM_TYPE");
  const state = type !== undefined && Object.hasOwn(STATES, type) ? STATES[type] : undefined;
  if (!state) {
    const shown = type === undefined ? "unset" : JSON.stringify(type.slice(0, 64));
    throw usageError(
      `PAM_TYPE is ${shown}, not open_session or close_session: ` +
        `tattle belongs in the sshd PAM session stack: run tattle setup --pam, which adds ${SETUP_LINE}`,
    );
  }
  const truncated: string[] = [];
  const bounded = (name: string, field: string, limit: number): string | undefined => {
    const value = env(name);
    if (value === undefined || value.length <= limit) return value;
    truncated.push(field);
    return cutAt(value, limit);
  };
  const session: Session = {
    state,
    user: bounded("PAM_USER", "username", LIMITS.pamValue) ?? "",
    rhost: bounded("PAM_RHOST", "remote_host", LIMITS.pamValue) ?? "",
    service: bounded("PAM_SERVICE", "service", LIMITS.pamValue) ?? "",
    tty: bounded("PAM_TTY", "tty", LIMITS.pamValue) ?? "",
    truncated,
  };
  const connection = parseSshConnection(env("SSH_CONNECTION")?.slice(0, LIMITS.sshConnection));
  // sshd writes PAM_RHOST (pam_exec's item) and SSH_CONNECTION (a PAM variable
  // pam_env can overwrite) from the same address when UseDNS is off.
  if (connection && isIp(session.rhost) && connection.clientIp !== session.rhost) {
    session.tamper = ["SSH_CONNECTION"];
  } else if (connection) {
    session.connection = connection;
  }
  const authInfo = bounded("SSH_AUTH_INFO_0", "auth", LIMITS.authInfo);
  if (authInfo) session.authInfo = authInfo;
  return session;
}

/** The session with `names` added to its sorted `tamper` list (unchanged when there are none). */
export function withTamper(session: Session, names: Iterable<string>): Session {
  const all = new Set([...(session.tamper ?? []), ...names]);
  return all.size === 0 ? session : { ...session, tamper: [...all].sort() };
}

/**
 * The close as the open saw it: the address and authentication come from the
 * open's root-owned record, not from the environment at close, which pam_env
 * may have changed since. A disagreement is added to `tamper`.
 */
export function closeAsOpened(
  close: Session,
  open: { connection?: SshConnection; authInfo?: string },
): Session {
  const changed: string[] = [];
  if (!sameConnection(close.connection, open.connection)) changed.push("SSH_CONNECTION");
  if ((close.authInfo ?? "") !== (open.authInfo ?? "")) changed.push("SSH_AUTH_INFO_0");
  const { connection: _c, authInfo: _a, ...rest } = close;
  const reported: Session = { ...rest };
  if (open.connection) reported.connection = open.connection;
  if (open.authInfo) reported.authInfo = open.authInfo;
  return withTamper(reported, changed);
}

function sameConnection(a?: SshConnection, b?: SshConnection): boolean {
  return a?.clientIp === b?.clientIp && a?.clientPort === b?.clientPort &&
    a?.serverIp === b?.serverIp && a?.serverPort === b?.serverPort;
}

/** Cuts a string to at most `limit` UTF-16 units without splitting a surrogate pair. */
export function cutAt(value: string, limit: number): string {
  const cut = value.slice(0, limit);
  const last = cut.charCodeAt(cut.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? cut.slice(0, -1) : cut;
}

const PORT = /^\d{1,5}$/;

/**
 * Parses SSH_CONNECTION ("client_ip client_port server_ip server_port");
 * `undefined` for anything else.
 */
export function parseSshConnection(value: string | undefined): SshConnection | undefined {
  const parts = value?.trim().split(" ");
  if (!parts || parts.length !== 4) return undefined;
  const [clientIp, clientPort, serverIp, serverPort] = parts;
  if (!isIp(clientIp) || !isIp(serverIp)) return undefined;
  if (!PORT.test(clientPort) || !PORT.test(serverPort)) return undefined;
  const client = Number(clientPort);
  const server = Number(serverPort);
  if (client > 65535 || server > 65535) return undefined;
  return { clientIp, clientPort: client, serverIp, serverPort: server };
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9a-fA-F:.]{2,45}(%[0-9A-Za-z._-]{1,32})?$/;

function isIp(value: string): boolean {
  return IPV4.test(value) || (value.includes(":") && IPV6.test(value));
}
