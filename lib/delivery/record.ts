/**
 * A captured session event: what the hook knows at login time, kept in the
 * spool until the event is delivered (pure).
 *
 * @module
 */

import { ACCOUNT } from "../event/account.ts";
import { IDENTITY } from "../event/identity.ts";
import { SESSION } from "../capture/pam.ts";
import { type Infer, integer, literal, object, optional, refine, string } from "../util/shape.ts";

const ISO_TIME = refine(string({ min: 1 }), (value) => {
  if (Number.isNaN(Date.parse(value))) throw new Error("must be an ISO 8601 time");
  return value;
}, "an ISO 8601 time");

/** One captured event, as spooled. */
export const RECORD = object({
  /** The record format's version. */
  v: refine(integer(), (v) => {
    if (v !== 1) throw new Error("is an unknown record version");
    return 1 as const;
  }),
  event_id: string({ min: 1, max: 64 }),
  /** When PAM called tattle. */
  time: ISO_TIME,
  hostname: string(),
  session: SESSION,
  /** Set when the identity was known (cache or IMDS) at capture time. */
  identity: optional(IDENTITY),
  duration_seconds: optional(integer({ min: 0 })),
  /** Set when the hook resolved the user (for an `ignore.groups` rule); else the sender does. */
  account: optional(ACCOUNT),
  /** The process that opens and closes the session (sshd's monitor), for reconciliation. */
  session_pid: optional(integer({ min: 1 })),
  /** Set on events reconciliation built from the system's records (lib/reconcile/). */
  found_by: optional(literal("reconcile")),
  /** Set on a close reconciliation reported: the session ended without its close running. */
  close: optional(literal("lost", "reboot")),
  /** The system's record reconciliation built the event from (logind's or utmp's key). */
  system_session: optional(string({ min: 1 })),
});

/** One captured event. */
export type CapturedEvent = Infer<typeof RECORD>;

/** Serializes a record for the spool. */
export function encodeRecord(record: CapturedEvent): string {
  return JSON.stringify(record);
}

/**
 * Parses a spooled record.
 *
 * @throws {Error} naming what is wrong, for `failed/` reasons.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeRecord } from "./record.ts";
 * assert.throws(() => decodeRecord('{"v": 2}'), /bad record: v: is an unknown record version/);
 * ```
 */
export function decodeRecord(text: string): CapturedEvent {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new Error(`not JSON: ${(error as Error).message}`);
  }
  try {
    return RECORD.parse(raw);
  } catch (error) {
    throw new Error(`bad record: ${(error as Error).message}`);
  }
}
