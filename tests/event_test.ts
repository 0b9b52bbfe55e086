import assert from "node:assert/strict";
import { entrySize, putEventsEntry } from "../lib/aws/entry.ts";
import { identityOf } from "../lib/aws/imds.ts";
import { envFrom } from "../lib/capture/environment.ts";
import { readSession, type Session } from "../lib/capture/pam.ts";
import { DEFAULTS } from "../lib/config/config.ts";
import { EVENTBRIDGE_LIMITS } from "../lib/config/settings.ts";
import type { CapturedEvent } from "../lib/delivery/record.ts";
import { buildEvent, type EventSettings } from "../lib/event/build.ts";
import { DETAIL, RESERVED_DETAIL_FIELDS } from "../lib/event/detail.ts";
import seedOpened from "./fixtures/seed_opened.json" with { type: "json" };
import seedClosed from "./fixtures/seed_closed.json" with { type: "json" };
import keys from "./fixtures/ssh_keys.json" with { type: "json" };
import { ROOT } from "./support/tattle.ts";

const seedIdentity = identityOf({
  accountId: "01234567890",
  region: "us-east-1",
  instanceId: "i-abc123abc123",
});

function captured(
  session: Partial<Session> = {},
  extra: Partial<CapturedEvent> = {},
): CapturedEvent {
  return {
    v: 1,
    event_id: "6a7e3c2e-5d0b-4f59-9a43-1f0d1c9a2b11",
    time: "2026-11-28T12:00:00.000Z",
    hostname: "ip-10-0-0-12",
    session: {
      state: "opened",
      user: "ubuntu",
      rhost: "1.2.3.4",
      service: "sshd",
      tty: "ssh",
      truncated: [],
      ...session,
    },
    ...extra,
  };
}

const settings: EventSettings = DEFAULTS;
const build = (record: CapturedEvent, s: Partial<EventSettings> = {}) =>
  buildEvent(record, seedIdentity, { ...settings, ...s }, "0.0.0-test");

Deno.test("the seed's example payloads are reproduced field for field", async () => {
  for (const seed of [seedOpened, seedClosed]) {
    const state = seed.detail.session as "opened" | "closed";
    const entry = putEventsEntry(await build(captured({ state })));
    assert.equal(entry.DetailType, seed["detail-type"]);
    assert.equal(entry.Source, seed.source);
    assert.deepEqual(entry.Resources, seed.resources);
    const detail = JSON.parse(entry.Detail);
    for (const [field, value] of Object.entries(seed.detail)) {
      assert.deepEqual(detail[field], value, field);
    }
    assert.deepEqual(Object.keys(detail).slice(0, 3), ["username", "remote_host", "session"]);
  }
});

Deno.test("the Detail carries the added fields, and fits its declaration", async () => {
  const [ed25519] = keys.keys;
  const event = await build(captured({
    connection: { clientIp: "1.2.3.4", clientPort: 50022, serverIp: "10.0.0.12", serverPort: 22 },
    authInfo: `publickey ${ed25519.key_type} ${ed25519.blob}\n`,
    tamper: ["PAM_USER"],
  }, { duration_seconds: 7 }));
  assert.deepEqual(event.detail, {
    username: "ubuntu",
    remote_host: "1.2.3.4",
    session: "opened",
    service: "sshd",
    tty: "ssh",
    hostname: "ip-10-0-0-12",
    event_id: "6a7e3c2e-5d0b-4f59-9a43-1f0d1c9a2b11",
    tattle_version: "0.0.0-test",
    instance_id: "i-abc123abc123",
    source_ip: "1.2.3.4",
    source_port: 50022,
    auth: { method: "publickey", key_type: "ssh-ed25519", key_fingerprint: ed25519.fingerprint },
    tamper: ["PAM_USER"],
    duration_seconds: 7,
  });
  assert.deepEqual(DETAIL.parse(event.detail), event.detail);
  const entry = putEventsEntry(event);
  assert.equal(entry.Time, "2026-11-28T12:00:00.000Z");
  assert.equal(entry.EventBusName, undefined);
});

Deno.test("Source, DetailType and event bus are configurable", async () => {
  const event = await build(captured(), { source: "com.example.ssh", detail_type: "login" });
  const entry = putEventsEntry(event, "security");
  assert.equal(entry.Source, "com.example.ssh");
  assert.equal(entry.DetailType, "login");
  assert.equal(entry.EventBusName, "security");
});

Deno.test("extra_detail is merged but never overwrites tattle's fields", async () => {
  const event = await build(captured(), {
    extra_detail: { team: "payments", username: "mallory", session: "none", event_id: "x" },
  });
  assert.equal(event.detail.team, "payments");
  assert.equal(event.detail.username, "ubuntu");
  assert.equal(event.detail.session, "opened");
  assert.equal(event.detail.event_id, "6a7e3c2e-5d0b-4f59-9a43-1f0d1c9a2b11");
});

Deno.test("hostile strings give a valid JSON Detail that round-trips", async () => {
  const hostile = [
    'ev"il\\',
    '"}, "session": "closed", "x": {"',
    "line\nbreak\r\ttab\u0000nul\u001b[31m",
    "ünïcödé ✓ 日本語 😀",
    "\uFFFD\uD800lone surrogate",
    "\u2028\u2029",
  ];
  for (const value of hostile) {
    const entry = putEventsEntry(
      await build(captured({ user: value, rhost: value, service: value, tty: value })),
    );
    const detail = JSON.parse(entry.Detail);
    assert.equal(detail.session, "opened");
    assert.equal(detail.username, value);
    assert.equal(detail.remote_host, value);
  }
});

Deno.test("the longest inputs stay within EventBridge's entry size limit", async () => {
  const worst = "\u0001".repeat(100_000); // each escapes to six bytes
  const session = readSession(envFrom({
    PAM_TYPE: "open_session",
    PAM_USER: worst,
    PAM_RHOST: worst,
    PAM_SERVICE: worst,
    PAM_TTY: worst,
    SSH_AUTH_INFO_0: worst,
  }));
  const entry = putEventsEntry(
    await build(captured(session), { extra_detail: { note: "n".repeat(8000) } }),
  );
  assert(entrySize(entry) < EVENTBRIDGE_LIMITS.requestBytes, `${entrySize(entry)} bytes`);
  assert.deepEqual(JSON.parse(entry.Detail).truncated, [
    "username",
    "remote_host",
    "service",
    "tty",
    "auth",
  ]);
});

Deno.test("every Detail field tattle declares is in the README's list of Detail fields", async () => {
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  const start = readme.indexOf("<!-- detail fields -->");
  const end = readme.indexOf("<!-- end of detail fields -->");
  assert(start > 0 && end > start, "the README marks its list of Detail fields");
  const items = readme.slice(start, end).split("\n").filter((line) => line.startsWith("- "));
  for (const field of RESERVED_DETAIL_FIELDS) {
    assert(
      items.some((item) => item.match(/^- ([^:]*):/)?.[1].includes(`\`${field}\``)),
      `the README's list of Detail fields has no item for ${field}`,
    );
  }
});
