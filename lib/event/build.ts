/**
 * Building the session event from what the hook captured (pure).
 *
 * The event is built when it is sent, not when it is captured: an event
 * spooled before the host identity was known still gets it, and keeps its
 * original event_id and time.
 *
 * @module
 */

import { parseAuthInfo } from "../capture/ssh_auth.ts";
import type { Identity } from "../event/identity.ts";
import type { Config } from "../config/config.ts";
import type { CapturedEvent } from "../delivery/record.ts";
import { type Detail, RESERVED_DETAIL_FIELDS, type SessionEvent } from "./detail.ts";

/** The settings an event is built with. */
export type EventSettings = Pick<Config, "source" | "detail_type" | "extra_detail">;

/**
 * The event for a captured session, with `identity` (the record's own when it
 * has one) and, on the first event after drops, how many were dropped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildEvent } from "./build.ts";
 * const event = await buildEvent(
 *   {
 *     v: 1,
 *     event_id: "e1",
 *     time: "2026-11-28T12:00:00.000Z",
 *     hostname: "web-1",
 *     session: { state: "opened", user: "alice", rhost: "203.0.113.9", service: "sshd", tty: "ssh", truncated: [] },
 *   },
 *   { region: "us-east-1", instanceId: "i-1", resources: ["arn:aws:ec2:us-east-1:1:instance/i-1"] },
 *   { source: "com.unbounce.tattle", detail_type: "SSH connection event detected", extra_detail: { team: "ops" } },
 *   "0.1.0",
 * );
 * assert.equal(event.detail.username, "alice");
 * assert.equal(event.detail.instance_id, "i-1");
 * assert.equal(event.detail.team, "ops");
 * ```
 */
export async function buildEvent(
  record: CapturedEvent,
  identity: Identity,
  settings: EventSettings,
  version: string,
  spoolDropped?: number,
): Promise<SessionEvent> {
  const { session } = record;
  const detail: Detail = {
    username: session.user,
    remote_host: session.rhost,
    session: session.state,
    service: session.service,
    tty: session.tty,
    hostname: record.hostname,
    event_id: record.event_id,
    tattle_version: version,
  };
  if (identity.instanceId) detail.instance_id = identity.instanceId;
  if (session.connection) {
    detail.source_ip = session.connection.clientIp;
    detail.source_port = session.connection.clientPort;
  }
  const auth = session.authInfo === undefined ? undefined : await parseAuthInfo(session.authInfo);
  if (auth) detail.auth = auth;
  if (session.truncated.length > 0) detail.truncated = [...session.truncated];
  if (session.tamper?.length) detail.tamper = [...session.tamper];
  if (record.duration_seconds !== undefined) detail.duration_seconds = record.duration_seconds;
  if (record.account) {
    detail.uid = record.account.uid;
    detail.groups = [...record.account.groups];
  }
  if (spoolDropped) detail.spool_dropped = spoolDropped;
  if (record.found_by) detail.found_by = record.found_by;
  if (record.close) detail.close = record.close;
  for (const [key, value] of Object.entries(settings.extra_detail)) {
    if (!RESERVED_DETAIL_FIELDS.includes(key)) detail[key] = value;
  }
  return {
    source: settings.source,
    detailType: settings.detail_type,
    resources: identity.resources,
    time: record.time,
    detail,
  };
}
