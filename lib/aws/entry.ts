/**
 * A session event in the form PutEvents takes it (pure): what the
 * EventBridge sink sends and `--dry-run` prints.
 *
 * @module
 */

import type { SessionEvent } from "../event/detail.ts";

/** A PutEvents request entry, as printed by `--dry-run`. */
export interface PutEventsEntry {
  Source: string;
  DetailType: string;
  Resources: string[];
  /** The Detail object, serialized. */
  Detail: string;
  /** ISO 8601: when PAM called tattle. */
  Time: string;
  EventBusName?: string;
}

/**
 * The PutEvents entry for an event, on `eventBus` (the default bus when unset).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { putEventsEntry } from "./entry.ts";
 * const entry = putEventsEntry({
 *   source: "com.unbounce.tattle",
 *   detailType: "SSH connection event detected",
 *   resources: [],
 *   time: "2026-11-28T12:00:00.000Z",
 *   detail: {
 *     username: "alice", remote_host: "203.0.113.9", session: "opened", service: "sshd",
 *     tty: "ssh", hostname: "h", event_id: "e", tattle_version: "0.1.0",
 *   },
 * }, "security");
 * assert.equal(JSON.parse(entry.Detail).username, "alice");
 * assert.equal(entry.EventBusName, "security");
 * ```
 */
export function putEventsEntry(event: SessionEvent, eventBus?: string): PutEventsEntry {
  const entry: PutEventsEntry = {
    Source: event.source,
    DetailType: event.detailType,
    Resources: event.resources,
    Detail: JSON.stringify(event.detail),
    Time: event.time,
  };
  if (eventBus) entry.EventBusName = eventBus;
  return entry;
}

/** The size of an entry as EventBridge counts it: the UTF-8 bytes of its strings, plus 14 for Time. */
export function entrySize(entry: PutEventsEntry): number {
  const encoder = new TextEncoder();
  const strings = [entry.Source, entry.DetailType, entry.Detail, ...entry.Resources];
  if (entry.EventBusName) strings.push(entry.EventBusName);
  return 14 + strings.reduce((n, s) => n + encoder.encode(s).length, 0);
}
