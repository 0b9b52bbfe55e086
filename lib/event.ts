/**
 * The EventBridge PutEvents entry for one session event (pure).
 *
 * The Detail's `username`, `remote_host` and `session` fields, the Source and
 * the DetailType are the original tool's public contract: consumers' rules
 * match on them. Fields are only ever added.
 *
 * @module
 */

import type { Session } from "./pam.ts";
import type { AuthDetail } from "./ssh_auth.ts";

/** Where tattle runs, as the event reports it. */
export interface Identity {
  region: string;
  /** Set on EC2 only. */
  instanceId?: string;
  /** The event's Resources: the instance ARN on EC2, configured ARNs otherwise. */
  resources: string[];
}

/** A PutEvents request entry, in the form it is printed and spooled. */
export interface EventEntry {
  Source: string;
  DetailType: string;
  Resources: string[];
  /** A JSON object, serialized. */
  Detail: string;
  /** ISO 8601: when PAM called tattle. */
  Time: string;
  EventBusName?: string;
}

/** The Detail object. Unset optional fields are left out. */
export interface Detail {
  username: string;
  remote_host: string;
  session: string;
  service: string;
  tty: string;
  hostname: string;
  instance_id?: string;
  source_ip?: string;
  source_port?: number;
  auth?: AuthDetail;
  event_id: string;
  tattle_version: string;
  truncated?: string[];
  /** Names of variables that show someone tried to steer the event (README, Security). */
  tamper?: string[];
  duration_seconds?: number;
  spool_dropped?: number;
  [extra: string]: unknown;
}

/** Detail fields that tattle sets itself; `extra_detail` can never set them. */
export const RESERVED_DETAIL_FIELDS: readonly string[] = [
  "username",
  "remote_host",
  "session",
  "service",
  "tty",
  "hostname",
  "instance_id",
  "source_ip",
  "source_port",
  "auth",
  "event_id",
  "tattle_version",
  "truncated",
  "tamper",
  "duration_seconds",
  "spool_dropped",
];

/** EventBridge's limit on one entry's size, in bytes. */
export const MAX_ENTRY_BYTES = 256 * 1024;

/** Everything an event is made of. */
export interface EventInput {
  session: Session;
  identity: Identity;
  hostname: string;
  eventId: string;
  version: string;
  time: Date;
  source: string;
  detailType: string;
  eventBus?: string;
  extraDetail?: Record<string, string>;
  /** Seconds since the matching open, on a close. */
  durationSeconds?: number;
  /** Events dropped from a full spool since the last delivery. */
  spoolDropped?: number;
  /** How the user authenticated, parsed from the session's SSH_AUTH_INFO_0. */
  auth?: AuthDetail;
}

/** Builds the PutEvents entry for a session event. */
export function buildEntry(input: EventInput): EventEntry {
  const entry: EventEntry = {
    Source: input.source,
    DetailType: input.detailType,
    Resources: input.identity.resources,
    Detail: JSON.stringify(buildDetail(input)),
    Time: input.time.toISOString(),
  };
  if (input.eventBus) entry.EventBusName = input.eventBus;
  return entry;
}

/** Builds the Detail object; `extra_detail` fills only fields tattle does not set. */
export function buildDetail(input: EventInput): Detail {
  const { session, identity } = input;
  const detail: Detail = {
    username: session.user,
    remote_host: session.rhost,
    session: session.state,
    service: session.service,
    tty: session.tty,
    hostname: input.hostname,
    event_id: input.eventId,
    tattle_version: input.version,
  };
  if (identity.instanceId) detail.instance_id = identity.instanceId;
  if (session.connection) {
    detail.source_ip = session.connection.clientIp;
    detail.source_port = session.connection.clientPort;
  }
  if (input.auth) detail.auth = input.auth;
  if (session.truncated.length > 0) detail.truncated = [...session.truncated];
  if (session.tamper?.length) detail.tamper = [...session.tamper];
  if (input.durationSeconds !== undefined) detail.duration_seconds = input.durationSeconds;
  if (input.spoolDropped) detail.spool_dropped = input.spoolDropped;
  for (const [key, value] of Object.entries(input.extraDetail ?? {})) {
    if (!Object.hasOwn(detail, key) && !RESERVED_DETAIL_FIELDS.includes(key)) detail[key] = value;
  }
  return detail;
}

/** Size of an entry as EventBridge counts it (UTF-8 bytes of its strings). */
export function entrySize(entry: EventEntry): number {
  const encoder = new TextEncoder();
  const strings = [entry.Source, entry.DetailType, entry.Detail, ...entry.Resources];
  if (entry.EventBusName) strings.push(entry.EventBusName);
  return 14 + strings.reduce((n, s) => n + encoder.encode(s).length, 0);
}
