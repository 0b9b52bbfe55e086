/** The EventBridge sink: the real SDK client against the fake EventBridge (SigV4 checked). */

import assert from "node:assert/strict";
import { eventBridgeSink, requestFailure, resolveEndpoint } from "../lib/aws/eventbridge.ts";
import { deadlineIn } from "../lib/util/deadline.ts";
import { startFakeEventBridge } from "./fakes/eventbridge.ts";
import { sessionEvent } from "./support/records.ts";
import { FAKE_ROLE } from "./fakes/imds.ts";
import { refusedUrl, startSilentServer } from "./fakes/silent.ts";

const credentials = {
  accessKeyId: FAKE_ROLE.accessKeyId,
  secretAccessKey: FAKE_ROLE.secretAccessKey,
  sessionToken: FAKE_ROLE.token,
};

const event = (n = 0) => sessionEvent(n, { n });

function startFake() {
  return startFakeEventBridge({ [credentials.accessKeyId]: credentials.secretAccessKey });
}

async function sink(endpoint: string, extra: { eventBus?: string; region?: string } = {}) {
  return await eventBridgeSink({ region: "us-east-1", endpoint, credentials, ...extra });
}

Deno.test("PutEvents is signed for events and the entry arrives intact", async () => {
  await using events = startFake();
  const s = await sink(events.url, { eventBus: "security", region: "eu-west-1" });
  const [delivery] = await s.send([event()], deadlineIn(2000).signal);
  s.close();
  assert(delivery.ok, JSON.stringify(delivery));
  assert.match(delivery.id ?? "", /^[0-9a-f-]{36}$/);
  assert.deepEqual(events.rejected, []);
  const [got] = events.received;
  assert.equal(got.Source, "com.unbounce.tattle");
  assert.equal(got.EventBusName, "security");
  assert.deepEqual(got.detail, event().detail);
  assert.equal(got.Time, Date.parse("2026-11-28T12:00:00.000Z") / 1000);
  assert.deepEqual(got.signedBy, { accessKeyId: credentials.accessKeyId, region: "eu-west-1" });
  assert.equal(s.name, `EventBridge at ${events.url}`);
});

Deno.test("up to ten events go in one call, with one outcome each, over one client", async () => {
  await using events = startFake();
  const s = await sink(events.url);
  assert.equal(s.maxBatch, 10);
  const outcomes = await s.send(
    Array.from({ length: 10 }, (_, n) => event(n)),
    deadlineIn(2000).signal,
  );
  await s.send([event(10)], deadlineIn(2000).signal);
  s.close();
  assert.equal(outcomes.filter((o) => o.ok).length, 10);
  assert.equal(events.requestCount, 2);
  assert.deepEqual(events.received.map((r) => r.detail.n), [...Array(11).keys()]);
});

Deno.test("what each failure means: retry, hold for someone to act, or reject for good", async (t) => {
  const cases = [
    ["500", "retry", "InternalException"],
    ["throttle", "retry", "ThrottlingException"],
    ["access-denied", "hold", "AccessDeniedException"],
    ["validation", "hold", "ValidationException"],
  ] as const;
  for (const [fault, disposition, code] of cases) {
    await t.step(`${fault}: ${disposition}`, async () => {
      await using events = startFake();
      events.fault = fault;
      const s = await sink(events.url);
      const outcomes = await s.send([event(1), event(2)], deadlineIn(2000).signal);
      s.close();
      for (const outcome of outcomes) {
        assert(!outcome.ok);
        assert.equal(outcome.disposition, disposition);
        assert.equal(outcome.code, code);
      }
      assert.equal(events.requestCount, 1, "a sink sends once; retrying is the caller's");
    });
  }
  await t.step("a request-level ValidationException says what to fix", () => {
    const failure = requestFailure(
      Object.assign(new Error("bad bus"), {
        name: "ValidationException",
        $metadata: { httpStatusCode: 400 },
      }),
    );
    assert.equal(failure.disposition, "hold");
    assert.match(failure.message, /check "event_bus", "source" and "detail_type" in the config/);
  });
  for (
    const [code, disposition] of [["MalformedDetail", "reject"], [
      "InternalFailure",
      "retry",
    ]] as const
  ) {
    await t.step(`an entry-level ${code}: ${disposition}`, async () => {
      await using events = startFake();
      events.fault = "failed-entry";
      events.entryErrorCode = code;
      const s = await sink(events.url);
      const [outcome] = await s.send([event()], deadlineIn(2000).signal);
      s.close();
      assert(!outcome.ok);
      assert.equal(outcome.disposition, disposition);
      assert.equal(outcome.message, "fake entry failure");
    });
  }
  await t.step("a wrong secret: the fake's signature check refuses it", async () => {
    await using events = startFake();
    const s = await eventBridgeSink({
      region: "us-east-1",
      endpoint: events.url,
      credentials: { ...credentials, secretAccessKey: "wrong" },
    });
    const [outcome] = await s.send([event()], deadlineIn(1000).signal);
    s.close();
    assert(!outcome.ok);
    assert.equal(outcome.code, "InvalidSignatureException");
    assert.equal(outcome.disposition, "hold");
  });
});

Deno.test("network faults end with the signal", async (t) => {
  const run = async (endpoint: string, expected: RegExp) => {
    const s = await sink(endpoint);
    const started = performance.now();
    const [outcome] = await s.send([event()], deadlineIn(600).signal);
    const elapsed = performance.now() - started;
    s.close();
    assert(!outcome.ok);
    assert.equal(outcome.disposition, "retry");
    assert.match(`${outcome.code}: ${outcome.message}`, expected);
    assert(elapsed < 600 + 500, `took ${elapsed.toFixed(0)} ms`);
  };
  await t.step("refused", () => run(refusedUrl(), /connection refused/));
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

Deno.test("endpoints named in messages are the SDK's own, in every partition", async () => {
  const expected: Record<string, string> = {
    "us-east-1": "https://events.us-east-1.amazonaws.com",
    "cn-north-1": "https://events.cn-north-1.amazonaws.com.cn",
    "us-gov-west-1": "https://events.us-gov-west-1.amazonaws.com",
    "us-iso-east-1": "https://events.us-iso-east-1.c2s.ic.gov",
    "us-isob-east-1": "https://events.us-isob-east-1.sc2s.sgov.gov",
    "eu-isoe-west-1": "https://events.eu-isoe-west-1.cloud.adc-e.uk",
    "us-isof-south-1": "https://events.us-isof-south-1.csp.hci.ic.gov",
  };
  for (const [region, endpoint] of Object.entries(expected)) {
    assert.equal(await resolveEndpoint(region), endpoint, region);
  }
  assert.equal(await resolveEndpoint("us-east-1", "http://127.0.0.1:9"), "http://127.0.0.1:9");
});
