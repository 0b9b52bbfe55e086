/**
 * Every setting, declared once: its shape (type and validator), its
 * default, its documentation and its flag (pure).
 *
 * The README's config table is generated from this declaration
 * (`deno task docs`), and a test checks that the README holds exactly that
 * table. Limits that EventBridge enforces come from its service model
 * (botocore's `events` model; a test compares them).
 *
 * To add a key: declare its shape in {@link SETTINGS}, its default (if any)
 * in {@link DEFAULTS} and its row in {@link SETTING_DOCS}; the type checker
 * refuses a key without documentation.
 *
 * @module
 */

import {
  array,
  boolean,
  type Infer,
  integer,
  literal,
  number,
  object,
  optional,
  record,
  refine,
  type Shape,
  string,
} from "../util/shape.ts";

/** Where the config file is read from when `--config` is not given. */
export const DEFAULT_CONFIG_PATH = "/etc/tattle/config.json";

/** EventBridge's limits on what tattle sends, from its service model. */
export const EVENTBRIDGE_LIMITS = {
  /** PutEventsRequestEntry.Source (documented limit). */
  source: 256,
  /** PutEventsRequestEntry.DetailType ("a maximum of 128 characters"). */
  detailType: 128,
  /** NonPartnerEventBusNameOrArn. */
  eventBus: {
    max: 1600,
    pattern:
      /^(arn:aws[\w-]*:events:[a-z]+-[a-z]+-[\w-]+:[0-9]{12}:event-bus\/)?[\.\-_A-Za-z0-9]+$/,
  },
  /** EventResource. */
  resource: 2048,
  /** PutEventsRequestEntryList. */
  entriesPerCall: 10,
  /** One request (and so one entry), in bytes. */
  requestBytes: 256 * 1024,
} as const;

const url: Shape<string> = refine(
  string({ min: 1, max: 2048 }),
  (value) => {
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      throw new Error("must be an http:// or https:// URL");
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw new Error("must be an http:// or https:// URL");
    }
    return value.replace(/\/+$/, "");
  },
  "an http:// or https:// URL",
);

const absolutePath: Shape<string> = refine(
  string({ min: 1, max: 1024 }),
  (path) => {
    if (!path.startsWith("/") || path.split("/").includes("..")) {
      throw new Error("must be an absolute path without ..");
    }
    return path.length > 1 ? path.replace(/\/+$/, "") : path;
  },
  "an absolute path",
);

// A key that names a field tattle sets is left out of the event, with a warning, not
// refused: a version that adds a field must not silence the hosts that used its name.
const extraDetail = refine(record(string()), (value) => {
  if (JSON.stringify(value).length > 8192) throw new Error("must be at most 8 KiB as JSON");
  return value;
}, "an object of strings");

const names = optional(array(string({ min: 1, max: 256 }), { max: 1000 }));

/** The `ignore` setting: sessions the host does not report. */
export const IGNORE = object({ users: names, groups: names, services: names }, { strict: true });

/** The `ignore` setting. */
export type IgnoreRules = Infer<typeof IGNORE>;

/** Every setting, as the config file and the flags give it (all optional there). */
export const SETTINGS = object({
  source: optional(string({ min: 1, max: EVENTBRIDGE_LIMITS.source })),
  detail_type: optional(string({ min: 1, max: EVENTBRIDGE_LIMITS.detailType })),
  event_bus: optional(string({
    min: 1,
    max: EVENTBRIDGE_LIMITS.eventBus.max,
    pattern: EVENTBRIDGE_LIMITS.eventBus.pattern,
    describe: "an event bus name or ARN (letters, digits, . - _)",
  })),
  region: optional(string({
    pattern: /^[a-z]{2,4}(-[a-z]+)+-\d{1,2}$/,
    describe: "an AWS region like us-east-1",
  })),
  endpoint_url: optional(url),
  ca_bundle: optional(absolutePath),
  imds_endpoint: optional(url),
  identity: optional(literal("imds", "none")),
  resources: optional(
    array(string({ min: 1, max: EVENTBRIDGE_LIMITS.resource }), { max: 10 }),
  ),
  timeout: optional(number({ above: 0, max: 60 })),
  extra_detail: optional(extraDetail),
  mode: optional(literal("background", "inline")),
  spool_dir: optional(absolutePath),
  spool_max_events: optional(integer({ min: 1, max: 1_000_000 })),
  state_dir: optional(absolutePath),
  runtime_dir: optional(absolutePath),
  sender_idle: optional(number({ min: 0, max: 7 * 24 * 3600 })),
  reconcile_services: optional(array(string({ min: 1, max: 256 }), { max: 100 })),
  trust_environment: optional(boolean),
  profile: optional(string({ pattern: /^[A-Za-z0-9_.+=,@-]{1,64}$/, describe: "a profile name" })),
  syslog_socket: optional(absolutePath),
  alert_after: optional(number({ above: 0, max: 7 * 24 * 3600 })),
  metrics_file: optional(absolutePath),
  ignore: optional(IGNORE),
}, { strict: true });

/** Settings as one origin (file or flags) gives them, not yet merged. */
export type Settings = Infer<typeof SETTINGS>;

/** The value of each setting that neither the file nor a flag sets. */
export const DEFAULTS = {
  source: "com.unbounce.tattle",
  detail_type: "SSH connection event detected",
  imds_endpoint: "http://169.254.169.254",
  identity: "imds",
  resources: [] as string[],
  timeout: 2,
  extra_detail: {} as Record<string, string>,
  mode: "background",
  spool_dir: "/var/spool/tattle",
  spool_max_events: 10000,
  state_dir: "/var/lib/tattle",
  runtime_dir: "/run/tattle",
  sender_idle: 300,
  reconcile_services: ["sshd"] as string[],
  trust_environment: false,
  syslog_socket: "/run/systemd/journal/dev-log",
  alert_after: 900,
  ignore: {} as IgnoreRules,
} as const satisfies Settings;

/** Every setting, resolved: those with a default are always set. */
export type Config = Settings & { [K in keyof typeof DEFAULTS]-?: NonNullable<Settings[K]> };

/** How a setting is given on the command line. */
export type FlagKind =
  | "value" // --key VALUE
  | "number" // --key NUMBER
  | "list" // --key VALUE, repeatable
  | "switch"; // --key (true)

/** A setting's documentation: the README's table row and its flag. */
export interface SettingDoc {
  meaning: string;
  /** Shown instead of the default value (none, or computed). */
  defaultText?: string;
  /** Its flag, or why it has none. */
  flag: { kind: FlagKind; name?: string } | { none: string };
}

/** The README's config table, row by row, in this order. */
export const SETTING_DOCS: Record<keyof Settings, SettingDoc> = {
  source: { meaning: "the event's Source", flag: { kind: "value" } },
  detail_type: { meaning: "the event's DetailType", flag: { kind: "value" } },
  event_bus: {
    meaning: "event bus name or ARN",
    defaultText: "(the default bus)",
    flag: { kind: "value" },
  },
  region: {
    meaning: 'region of the EventBridge endpoint; required with `identity: "none"`',
    defaultText: "the instance's region",
    flag: { kind: "value" },
  },
  endpoint_url: {
    meaning: "EventBridge endpoint override (VPC endpoint, FIPS, tests)",
    defaultText: "the SDK's endpoint for the region",
    flag: { kind: "value" },
  },
  ca_bundle: {
    meaning: "PEM file of a CA to trust as well for `endpoint_url` (under `/etc/tattle`)",
    defaultText: "(the public roots only)",
    flag: { kind: "value" },
  },
  imds_endpoint: {
    meaning: "IMDS endpoint, for the identity and the instance role's credentials",
    flag: { kind: "value" },
  },
  identity: {
    meaning: '`"imds"` on EC2; `"none"` outside EC2 (no IMDS call for the identity)',
    flag: { kind: "value" },
  },
  resources: {
    meaning: 'the event\'s Resources when `identity` is `"none"`',
    flag: { kind: "list", name: "resource" },
  },
  timeout: {
    meaning: "seconds: the network budget of one hook run (identity, credentials, publishing)",
    flag: { kind: "number" },
  },
  extra_detail: {
    meaning: "strings added to the Detail; can never replace a field tattle sets",
    flag: { none: "an object: it belongs in the file" },
  },
  mode: {
    meaning: '`"background"`: a detached sender delivers; `"inline"`: the hook waits for delivery',
    flag: { kind: "value" },
  },
  spool_dir: { meaning: "where events wait until they are delivered", flag: { kind: "value" } },
  spool_max_events: {
    meaning: "the most events the spool keeps; beyond it the oldest are dropped (and counted)",
    flag: { kind: "number" },
  },
  state_dir: {
    meaning: "the sender's own state, kept across reboots: identity cache, metrics (owned by " +
      "the sender's account)",
    flag: { kind: "value" },
  },
  runtime_dir: {
    meaning: "root's runtime state (a tmpfs): the sender service's socket `sender.sock`, the " +
      "sender lock, the hooks' session records",
    flag: { kind: "value" },
  },
  sender_idle: {
    meaning: "seconds the sender stays once the spool is empty, for the next logins; `0`: " +
      "it never leaves (resident)",
    flag: { kind: "number" },
  },
  reconcile_services: {
    meaning: "PAM services whose logind sessions reconciliation reports when their hook did " +
      "not (utmp has no service: there every remote pty login counts); `[]` turns " +
      "reconciliation off",
    flag: { kind: "list", name: "reconcile-service" },
  },
  trust_environment: {
    meaning: "honour AWS_* variables in the hook's environment (users can set them: see Security)",
    flag: { kind: "switch" },
  },
  profile: {
    meaning: "AWS shared-config profile for credentials (instead of the instance role)",
    defaultText: "(the instance role)",
    flag: { kind: "value" },
  },
  syslog_socket: {
    meaning: "where failures are logged (authpriv): journald's socket, which /dev/log links to " +
      "(the runtime refuses every /dev path without --allow-all); no socket there is not an error",
    flag: { kind: "value" },
  },
  alert_after: {
    meaning: "seconds: an event waiting longer makes `tattle status` and `tattle flush` fail " +
      "(exit 69): the spool is stuck",
    flag: { kind: "number" },
  },
  metrics_file: {
    meaning: "node_exporter textfile to write the spool's figures to after each send " +
      "(under `state_dir`, e.g. /var/lib/tattle/metrics/tattle.prom; every directory on the " +
      "way owned by root or tattle)",
    defaultText: "(none)",
    flag: { kind: "value" },
  },
  ignore: {
    meaning: '`{"users": [...], "groups": [...], "services": [...]}`: sessions of these users, ' +
      "of members of these groups (the name service's, primary included) or of these PAM " +
      "services are not reported at all; decided on pam_exec's items, never on what a user can " +
      "set; a close follows its open. Invisible to the security team: see Security",
    defaultText: "(report every session)",
    flag: { none: "an object: it belongs in the file" },
  },
};

/** The flag of a setting, e.g. `detail-type` for `detail_type`, or `undefined`. */
export function flagOf(key: keyof Settings): { name: string; kind: FlagKind } | undefined {
  const { flag } = SETTING_DOCS[key];
  if ("none" in flag) return undefined;
  return { name: flag.name ?? key.replaceAll("_", "-"), kind: flag.kind };
}
