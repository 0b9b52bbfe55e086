/**
 * The event's Detail, declared once (pure).
 *
 * The Detail's `username`, `remote_host` and `session` fields, the Source
 * and the DetailType are the original tool's public contract: consumers'
 * rules match on them. Fields are only ever added.
 *
 * To add a field: declare it in {@link DETAIL} (optional, so that events
 * already spooled stay valid), set it in `build.ts`, and describe it in the
 * README's Detail table; a test checks that every field here is there.
 *
 * @module
 */

import { array, type Infer, integer, literal, object, optional, string } from "../util/shape.ts";

/** The `auth` object: how the user authenticated, never the key itself. */
export const AUTH = object({
  method: string({ min: 1 }),
  key_type: optional(string()),
  key_fingerprint: optional(string()),
  /** Every completed method, in order, when there was more than one. */
  methods: optional(array(string())),
});

/** How the user authenticated. */
export type AuthDetail = Infer<typeof AUTH>;

/** Every field tattle sets in the Detail. */
export const DETAIL = object({
  username: string(),
  remote_host: string(),
  session: literal("opened", "closed", "test"),
  service: string(),
  tty: string(),
  hostname: string(),
  instance_id: optional(string()),
  source_ip: optional(string()),
  source_port: optional(integer({ min: 0, max: 65535 })),
  auth: optional(AUTH),
  event_id: string({ min: 1 }),
  tattle_version: string(),
  truncated: optional(array(string())),
  tamper: optional(array(string())),
  duration_seconds: optional(integer({ min: 0 })),
  spool_dropped: optional(integer({ min: 1 })),
  uid: optional(integer({ min: 0 })),
  groups: optional(array(string())),
  found_by: optional(literal("reconcile")),
  close: optional(literal("lost", "reboot")),
});

/** The Detail object: tattle's fields, then `extra_detail`'s. Unset optional fields are left out. */
export type Detail = Infer<typeof DETAIL> & { [extra: string]: unknown };

/** Detail fields that tattle sets itself; `extra_detail` can never set them. */
export const RESERVED_DETAIL_FIELDS: readonly string[] = Object.keys(DETAIL.properties);

/** A session event, before any sink gives it its wire form. */
export interface SessionEvent {
  source: string;
  detailType: string;
  /** The instance ARN on EC2, configured ARNs otherwise. */
  resources: string[];
  /** ISO 8601: when PAM called tattle. */
  time: string;
  detail: Detail;
}
