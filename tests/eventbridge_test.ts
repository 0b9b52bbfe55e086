import assert from "node:assert/strict";
import { deadlineIn } from "../lib/deadline.ts";
import type { EventEntry } from "../lib/event.ts";
import { publish } from "../lib/eventbridge.ts";
import { startFakeEventBridge } from "./fakes/eventbridge.ts";
import { FAKE_ROLE } from "./fakes/imds.ts";
import { refusedUrl, startSilentServer } from "./fakes/silent.ts";

const credentials = {
  accessKeyId: FAKE_ROLE.accessKeyId,
  secretAccessKey: FAKE_ROLE.secretAccessKey,
  sessionToken: FAKE_ROLE.token,
};

function entry(n = 0): EventEntry {
  return {
    Source: "com.unbounce.tattle",
    DetailType: "SSH connection event detected",
    Resources: ["arn:aws:ec2:us-east-1:123456789012:instance/i-1"],
    Detail: JSON.stringify({ username: "alice", remote_host: "1.2.3.4", session: "opened", n }),
    Time: "2026-11-28T12:00:00.000Z",
  };
}

function startFake() {
  return startFakeEventBridge({ [credentials.accessKeyId]: credentials.secretAccessKey });
}

Deno.test("PutEvents is signed for events and the entry arrives intact", async () => {
  await using events = startFake();
  const [result] = await publish([{ ...entry(), EventBusName: "security" }], {
    region: "eu-west-1",
    endpoint: events.url,
    credentials,
    deadline: deadlineIn(2000),
  });
  assert(result.ok, JSON.stringify(result));
  assert.deepEqual(events.rejected, []);
  assert.equal(events.received.length, 1);
  const [got] = events.received;
  assert.equal(got.Source, "com.unbounce.tattle");
  assert.equal(got.EventBusName, "security");
  assert.equal(got.Detail, entry().Detail);
  assert.equal(got.Time, Date.parse("2026-11-28T12:00:00.000Z") / 1000);
  assert.deepEqual(got.signedBy, { accessKeyId: credentials.accessKeyId, region: "eu-west-1" });
});

Deno.test("a wrong secret is refused by the fake's signature check", async () => {
  await using events = startFake();
  const [result] = await publish([entry()], {
    region: "us-east-1",
    endpoint: events.url,
    credentials: { ...credentials, secretAccessKey: "wrong" },
    deadline: deadlineIn(1000),
  });
  assert(!result.ok);
  assert.equal(result.code, "InvalidSignatureException");
  assert.equal(result.retryable, false);
  assert.equal(events.received.length, 0);
});

Deno.test("up to ten entries go in one call, with one result each", async () => {
  await using events = startFake();
  const entries = Array.from({ length: 10 }, (_, n) => entry(n));
  const results = await publish(entries, {
    region: "us-east-1",
    endpoint: events.url,
    credentials,
    deadline: deadlineIn(2000),
  });
  assert.equal(results.filter((r) => r.ok).length, 10);
  assert.equal(events.requestCount, 1);
  assert.deepEqual(events.received.map((r) => r.detail.n), [...Array(10).keys()]);
});

Deno.test("FailedEntryCount > 0 is a failure carrying the entry's error", async () => {
  await using events = startFake();
  events.fault = "failed-entry";
  events.entryErrorCode = "MalformedDetail";
  const [result] = await publish([entry()], {
    region: "us-east-1",
    endpoint: events.url,
    credentials,
    deadline: deadlineIn(2000),
  });
  assert.deepEqual(result, {
    ok: false,
    code: "MalformedDetail",
    message: "fake entry failure",
    retryable: false,
  });
  assert.equal(events.requestCount, 1, "a permanent entry error is not retried");
});

Deno.test("retryable faults are retried with backoff until the deadline, then reported", async (t) => {
  const cases = [
    { fault: "500", code: "InternalException" },
    { fault: "throttle", code: "ThrottlingException" },
    { fault: "failed-entry", code: "InternalFailure" },
  ] as const;
  for (const { fault, code } of cases) {
    await t.step(fault, async () => {
      await using events = startFake();
      events.fault = fault;
      const started = performance.now();
      const [result] = await publish([entry()], {
        region: "us-east-1",
        endpoint: events.url,
        credentials,
        deadline: deadlineIn(700),
      });
      const elapsed = performance.now() - started;
      assert(!result.ok);
      assert.equal(result.code, code);
      assert(result.retryable);
      assert(events.requestCount >= 3, `${events.requestCount} attempts`);
      assert(events.requestCount <= 12, `${events.requestCount} attempts: no backoff?`);
      assert(elapsed < 700 + 500, `took ${elapsed.toFixed(0)} ms`);
    });
  }
});

Deno.test("a throttled first attempt is retried and then delivered", async () => {
  await using events = startFake();
  events.fault = "throttle";
  setTimeout(() => events.fault = "none", 100);
  const [result] = await publish([entry()], {
    region: "us-east-1",
    endpoint: events.url,
    credentials,
    deadline: deadlineIn(2000),
    random: () => 1,
  });
  assert(result.ok, JSON.stringify(result));
  assert.equal(events.received.length, 1);
});

Deno.test("access denied is reported and not retried", async () => {
  await using events = startFake();
  events.fault = "access-denied";
  const [result] = await publish([entry()], {
    region: "us-east-1",
    endpoint: events.url,
    credentials,
    deadline: deadlineIn(2000),
  });
  assert(!result.ok);
  assert.equal(result.code, "AccessDeniedException");
  assert.equal(result.retryable, false);
  assert.equal(events.requestCount, 1);
});

Deno.test("network faults end by the deadline", async (t) => {
  const run = async (endpoint: string, expected: RegExp) => {
    const started = performance.now();
    const [result] = await publish([entry()], {
      region: "us-east-1",
      endpoint,
      credentials,
      deadline: deadlineIn(600),
    });
    const elapsed = performance.now() - started;
    assert(!result.ok);
    assert.match(`${result.code}: ${result.message}`, expected);
    assert(elapsed < 600 + 500, `took ${elapsed.toFixed(0)} ms`);
  };
  await t.step("refused", () => run(refusedUrl(), /ECONNREFUSED|refused/i));
  await t.step("hangs after the request", async () => {
    await using events = startFake();
    events.fault = "hang";
    await run(events.url, /Timeout/);
  });
  await t.step("accepts TCP, never answers", async () => {
    await using silent = startSilentServer();
    await run(silent.url, /Timeout/);
  });
});
