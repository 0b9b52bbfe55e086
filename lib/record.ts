/**
 * A captured session event: what the hook knows at login time, kept until
 * the event is delivered (pure).
 *
 * The entry is built from the record when it is sent, so an event spooled
 * before the host identity was known still gets it, and keeps its original
 * event_id and Time.
 *
 * @module
 */

import type { Config } from "./config.ts";
import { buildEntry, type EventEntry, type Identity } from "./event.ts";
import type { Session } from "./pam.ts";
import { parseAuthInfo } from "./ssh_auth.ts";

/** One captured event, as spooled. */
export interface CapturedEvent {
  v: 1;
  event_id: string;
  /** ISO 8601: when PAM called tattle. */
  time: string;
  hostname: string;
  session: Session;
  /** Set when the identity was known (cache or IMDS) at capture time. */
  identity?: Identity;
  duration_seconds?: number;
}

/** Serializes a record for the spool. */
export function encodeRecord(record: CapturedEvent): string {
  return JSON.stringify(record);
}

/**
 * Parses a spooled record, checking every field's type.
 *
 * @throws {Error} naming what is wrong, for `failed/` reasons.
 */
export function decodeRecord(text: string): CapturedEvent {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new Error(`not JSON: ${(error as Error).message}`);
  }
  const fail = (what: string): never => {
    throw new Error(`bad record: ${what}`);
  };
  if (typeof raw !== "object" || raw === null) fail("not an object");
  if (raw.v !== 1) fail("unknown version");
  if (!isString(raw.event_id)) fail("event_id");
  if (!isString(raw.time) || Number.isNaN(Date.parse(raw.time as string))) fail("time");
  if (!isString(raw.hostname)) fail("hostname");
  const session = raw.session as Record<string, unknown> | null;
  if (typeof session !== "object" || session === null) fail("session");
  if (session!.state !== "opened" && session!.state !== "closed") fail("session.state");
  for (const key of ["user", "rhost", "service", "tty"]) {
    if (typeof session![key] !== "string") fail(`session.${key}`);
  }
  if (!isStringArray(session!.truncated)) fail("session.truncated");
  if (session!.tamper !== undefined && !isStringArray(session!.tamper)) fail("session.tamper");
  if (session!.authInfo !== undefined && typeof session!.authInfo !== "string") {
    fail("session.authInfo");
  }
  const connection = session!.connection as Record<string, unknown> | undefined;
  if (
    connection !== undefined &&
    (typeof connection !== "object" || connection === null ||
      !isString(connection.clientIp) || !Number.isInteger(connection.clientPort))
  ) fail("session.connection");
  const identity = raw.identity as Record<string, unknown> | undefined;
  if (
    identity !== undefined &&
    (typeof identity !== "object" || identity === null || !isString(identity.region) ||
      !isStringArray(identity.resources) ||
      (identity.instanceId !== undefined && !isString(identity.instanceId)))
  ) fail("identity");
  if (raw.duration_seconds !== undefined && typeof raw.duration_seconds !== "number") {
    fail("duration_seconds");
  }
  return raw as unknown as CapturedEvent;
}

/** Builds the PutEvents entry for a record with the current settings. */
export async function entryFor(
  record: CapturedEvent,
  identity: Identity,
  config: Config,
  version: string,
  spoolDropped?: number,
): Promise<EventEntry> {
  const { authInfo } = record.session;
  return buildEntry({
    auth: authInfo === undefined ? undefined : await parseAuthInfo(authInfo),
    session: record.session,
    identity,
    hostname: record.hostname,
    eventId: record.event_id,
    version,
    time: new Date(record.time),
    source: config.source,
    detailType: config.detail_type,
    eventBus: config.event_bus,
    extraDetail: config.extra_detail,
    durationSeconds: record.duration_seconds,
    spoolDropped,
  });
}

function isString(value: unknown): boolean {
  return typeof value === "string" && value.length > 0;
}

function isStringArray(value: unknown): boolean {
  return Array.isArray(value) && value.every((v) => typeof v === "string");
}
