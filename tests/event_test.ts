import assert from "node:assert/strict";
import { envFrom } from "../lib/env.ts";
import { buildEntry, entrySize, type EventInput, MAX_ENTRY_BYTES } from "../lib/event.ts";
import { identityOf } from "../lib/imds.ts";
import { readSession, type Session } from "../lib/pam.ts";
import { parseAuthInfo } from "../lib/ssh_auth.ts";
import seedOpened from "./fixtures/seed_opened.json" with { type: "json" };
import seedClosed from "./fixtures/seed_closed.json" with { type: "json" };
import keys from "./fixtures/ssh_keys.json" with { type: "json" };

const seedIdentity = identityOf({
  accountId: "01234567890",
  region: "us-east-1",
  instanceId: "i-abc123abc123",
});

function input(session: Partial<Session>, extra: Partial<EventInput> = {}): EventInput {
  return {
    session: {
      state: "opened",
      user: "ubuntu",
      rhost: "1.2.3.4",
      service: "sshd",
      tty: "ssh",
      truncated: [],
      ...session,
    },
    identity: seedIdentity,
    hostname: "ip-10-0-0-12",
    eventId: "6a7e3c2e-5d0b-4f59-9a43-1f0d1c9a2b11",
    version: "0.0.0-test",
    time: new Date("2026-11-28T12:00:00.000Z"),
    source: "com.unbounce.tattle",
    detailType: "SSH connection event detected",
    ...extra,
  };
}

Deno.test("the seed's example payloads are reproduced field for field", () => {
  for (const seed of [seedOpened, seedClosed]) {
    const state = seed.detail.session as "opened" | "closed";
    const entry = buildEntry(input({ state }));
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

Deno.test("the Detail carries the added fields", async () => {
  const [ed25519] = keys.keys;
  const entry = buildEntry(input({
    connection: { clientIp: "1.2.3.4", clientPort: 50022, serverIp: "10.0.0.12", serverPort: 22 },
  }, {
    auth: await parseAuthInfo(`publickey ${ed25519.key_type} ${ed25519.blob}\n`),
  }));
  assert.deepEqual(JSON.parse(entry.Detail), {
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
  });
  assert.equal(entry.Time, "2026-11-28T12:00:00.000Z");
  assert.equal(entry.EventBusName, undefined);
});

Deno.test("Source, DetailType and event bus are configurable", () => {
  const entry = buildEntry(input({}, {
    source: "com.example.ssh",
    detailType: "login",
    eventBus: "security",
  }));
  assert.equal(entry.Source, "com.example.ssh");
  assert.equal(entry.DetailType, "login");
  assert.equal(entry.EventBusName, "security");
});

Deno.test("extra_detail is merged but never overwrites tattle's fields", () => {
  const entry = buildEntry(input({}, {
    extraDetail: { team: "payments", username: "mallory", session: "none", event_id: "x" },
  }));
  const detail = JSON.parse(entry.Detail);
  assert.equal(detail.team, "payments");
  assert.equal(detail.username, "ubuntu");
  assert.equal(detail.session, "opened");
  assert.equal(detail.event_id, "6a7e3c2e-5d0b-4f59-9a43-1f0d1c9a2b11");
});

Deno.test("hostile strings give a valid JSON Detail that round-trips", () => {
  const hostile = [
    'ev"il\\',
    '"}, "session": "closed", "x": {"',
    "line\nbreak\r\ttab\u0000nul\u001b[31m",
    "ünïcödé ✓ 日本語 😀",
    "\uFFFD\uD800lone surrogate",
    "\u2028\u2029",
  ];
  for (const value of hostile) {
    const entry = buildEntry(input({ user: value, rhost: value, service: value, tty: value }));
    const detail = JSON.parse(entry.Detail);
    assert.equal(detail.session, "opened");
    assert.equal(detail.username, value);
    assert.equal(detail.remote_host, value);
  }
});

Deno.test("the longest inputs stay within EventBridge's entry size limit", () => {
  const worst = "\u0001".repeat(100_000); // each escapes to six bytes
  const session = readSession(envFrom({
    PAM_TYPE: "open_session",
    PAM_USER: worst,
    PAM_RHOST: worst,
    PAM_SERVICE: worst,
    PAM_TTY: worst,
    SSH_AUTH_INFO_0: worst,
  }));
  const entry = buildEntry(input(session, { extraDetail: { note: "n".repeat(8000) } }));
  assert(entrySize(entry) < MAX_ENTRY_BYTES, `${entrySize(entry)} bytes`);
  assert.deepEqual(JSON.parse(entry.Detail).truncated, [
    "username",
    "remote_host",
    "service",
    "tty",
    "auth",
  ]);
});
