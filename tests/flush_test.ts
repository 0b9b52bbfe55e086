/** One pass over the spool, against the Sink interface: the EventBridge sink and a scripted one. */

import assert from "node:assert/strict";
import { credentialsFor } from "../lib/aws/credentials.ts";
import { eventBridgeSink } from "../lib/aws/eventbridge.ts";
import { DEFAULTS } from "../lib/config/config.ts";
import { type FlushContext, flushSpool } from "../lib/delivery/flush.ts";
import type { Sink } from "../lib/delivery/sink.ts";
import {
  droppedCount,
  FAILED_DIR,
  prepareSpool,
  recordName,
  spoolList,
  spoolWrite,
} from "../lib/delivery/spool.ts";
import { deadlineIn } from "../lib/util/deadline.ts";
import { startFakeEventBridge } from "./fakes/eventbridge.ts";
import { FAKE_ROLE, startFakeImds } from "./fakes/imds.ts";
import { acceptAll, failing, fakeSink, type Script } from "./fakes/sink.ts";
import type { CapturedEvent } from "../lib/delivery/record.ts";
import { record } from "./support/records.ts";

async function fixture() {
  const root = await Deno.makeTempDir({ prefix: "tattle-flush-" });
  const dir = `${root}/spool`;
  await prepareSpool(dir);
  const logs: string[] = [];
  let identityCalls = 0;
  const accountCalls: string[] = [];
  const context = (sink: () => Promise<Sink>, extra: Partial<FlushContext> = {}): FlushContext => ({
    dir,
    lock: `${root}/sender.lock`,
    stateDir: `${root}/state`,
    settings: { ...DEFAULTS },
    sink,
    identity: () => {
      identityCalls++;
      return Promise.resolve({
        region: "us-east-1",
        instanceId: "i-late",
        resources: ["arn:late"],
      });
    },
    // The name service knows user1 and user2 only.
    account: (user) => {
      accountCalls.push(user);
      const uid = { user1: 1001, user2: 1002 }[user];
      return Promise.resolve(uid ? { uid, groups: [user, "staff"] } : undefined);
    },
    log: (line) => logs.push(line),
    version: "test",
    deadline: deadlineIn(3000),
    stepMs: 1000,
    random: () => 0.5,
    ...extra,
  });
  return {
    dir,
    logs,
    identityCalls: () => identityCalls,
    accountCalls,
    /** A pass with a scripted sink. */
    async flush(script: Script = acceptAll, extra: Partial<FlushContext> = {}) {
      const sink = fakeSink(script);
      const summary = await flushSpool(context(() => Promise.resolve(sink), extra));
      return { summary, sink };
    },
    context,
    async [Symbol.asyncDispose]() {
      await Deno.remove(root, { recursive: true });
    },
  };
}

Deno.test("oldest first, ten per call, one client and one credential fetch for the pass", async () => {
  await using f = await fixture();
  await using imds = startFakeImds();
  await using events = startFakeEventBridge({ [FAKE_ROLE.accessKeyId]: FAKE_ROLE.secretAccessKey });
  const records = Array.from({ length: 35 }, (_, n) => record(n));
  for (const r of [...records].reverse()) await spoolWrite(f.dir, r);
  let sinks = 0;
  const config = { ...DEFAULTS, imds_endpoint: imds.url, timeout: 1 };
  const summary = await flushSpool(f.context(() => {
    sinks++;
    return eventBridgeSink({
      region: "us-east-1",
      endpoint: events.url,
      credentials: credentialsFor(config),
    });
  }));
  assert.equal(summary.sent, 35);
  assert.equal(summary.remaining, 0);
  assert.equal(sinks, 1, "one sink (one client) for the pass");
  assert.equal(events.requestCount, 4, "35 events in 4 calls");
  assert.deepEqual(imds.requests, [
    "PUT /latest/api/token",
    "GET /latest/meta-data/iam/security-credentials/",
    `GET /latest/meta-data/iam/security-credentials/${FAKE_ROLE.name}`,
  ], "credentials fetched once");
  assert.deepEqual(events.received.map((e) => e.detail.event_id), records.map((r) => r.event_id));
  assert.deepEqual(
    events.received.map((e) => e.Time),
    records.map((r) => Date.parse(r.time) / 1000),
    "a spooled event keeps its time",
  );
  assert.deepEqual(await spoolList(f.dir), []);
});

Deno.test("records captured without an identity get it at send time, asked once", async () => {
  await using f = await fixture();
  await spoolWrite(f.dir, record(1, { identity: undefined }));
  await spoolWrite(f.dir, record(2, { identity: undefined }));
  const { sink } = await f.flush();
  assert.equal(f.identityCalls(), 1);
  assert.deepEqual(sink.accepted.map((e) => e.detail.instance_id), ["i-late", "i-late"]);
});

Deno.test("uid and groups: the hook's when it resolved them, else the name service's at send time", async () => {
  await using f = await fixture();
  const rec = (n: number, user: string, overrides: Partial<CapturedEvent> = {}) => {
    const r = record(n, overrides);
    return { ...r, session: { ...r.session, user } };
  };
  await spoolWrite(f.dir, rec(1, "user1"));
  await spoolWrite(f.dir, rec(2, "user1"));
  await spoolWrite(f.dir, rec(3, "user2", { account: { uid: 7, groups: ["at-login"] } }));
  await spoolWrite(f.dir, rec(4, "gone"));
  const { sink } = await f.flush();
  assert.deepEqual(
    sink.accepted.map(({ detail: { username, uid, groups } }) => ({ username, uid, groups })),
    [
      { username: "user1", uid: 1001, groups: ["user1", "staff"] },
      { username: "user1", uid: 1001, groups: ["user1", "staff"] },
      { username: "user2", uid: 7, groups: ["at-login"] },
      { username: "gone", uid: undefined, groups: undefined },
    ],
  );
  assert(!("uid" in sink.accepted[3].detail), "an unknown user's event has no uid field");
  assert.deepEqual(f.accountCalls.sort(), ["gone", "user1"], "each user once per pass");
});

Deno.test("a failure that may pass is retried with backoff until it passes, each event once", async () => {
  await using f = await fixture();
  for (let n = 0; n < 3; n++) await spoolWrite(f.dir, record(n));
  const { summary, sink } = await f.flush((events, call) =>
    call < 3 ? failing("retry", "ThrottlingException")(events, call) : acceptAll(events, call)
  );
  assert.equal(summary.sent, 3);
  assert.equal(summary.remaining, 0);
  assert.equal(sink.calls.length, 4);
  assert.equal(new Set(sink.accepted.map((e) => e.detail.event_id)).size, 3);
  // Full jitter with random() = 0.5: half of 100, 200, 400 ms.
  const gaps = sink.times.slice(1).map((t, i) => t - sink.times[i]);
  for (const [i, expected] of [50, 100, 200].entries()) {
    assert(
      gaps[i] >= expected - 5 && gaps[i] < expected + 150,
      `gap ${i}: ${gaps[i].toFixed(0)} ms`,
    );
  }
  assert(sink.closed, "the sink is closed when the pass ends");
});

Deno.test("out of budget: what is left is counted, and why", async () => {
  await using f = await fixture();
  for (let n = 0; n < 20; n++) await spoolWrite(f.dir, record(n));
  const { summary } = await f.flush(failing("retry", "ThrottlingException"), {
    deadline: deadlineIn(400),
  });
  assert.equal(summary.sent, 0);
  assert.equal(summary.remaining, 20);
  assert.equal(summary.held, false);
  assert.match(
    summary.problem ?? "",
    /the fake sink did not accept the event: ThrottlingException/,
  );
});

Deno.test("a failure someone must act on ends the pass and keeps every record", async (t) => {
  await t.step("scripted", async () => {
    await using f = await fixture();
    for (let n = 0; n < 3; n++) await spoolWrite(f.dir, record(n));
    const { summary, sink } = await f.flush(failing("hold", "AccessDeniedException"));
    assert.equal(sink.calls.length, 1, "not retried");
    assert.equal(summary.held, true);
    assert.equal(summary.remaining, 3);
    assert.equal(summary.failed, 0);
  });
  await t.step(
    "a request-level ValidationException (a bad event_bus) keeps the backlog",
    async () => {
      await using f = await fixture();
      await using events = startFakeEventBridge({
        [FAKE_ROLE.accessKeyId]: FAKE_ROLE.secretAccessKey,
      });
      events.fault = "validation";
      for (let n = 0; n < 12; n++) await spoolWrite(f.dir, record(n));
      const summary = await flushSpool(f.context(() =>
        eventBridgeSink({
          region: "us-east-1",
          endpoint: events.url,
          credentials: {
            accessKeyId: FAKE_ROLE.accessKeyId,
            secretAccessKey: FAKE_ROLE.secretAccessKey,
          },
        })
      ));
      assert.equal(summary.remaining, 12);
      assert.equal(summary.failed, 0);
      assert.deepEqual([...Deno.readDirSync(`${f.dir}/${FAILED_DIR}`)], [], "nothing in failed/");
      assert.match(summary.problem ?? "", /ValidationException.*check "event_bus"/);
    },
  );
});

Deno.test("rejected events and corrupt files go to failed/ without blocking the queue", async () => {
  await using f = await fixture();
  await Deno.writeTextFile(`${f.dir}/000000000000000-corrupt.json`, "{oops");
  const good = record(5);
  await spoolWrite(f.dir, good);
  const first = await f.flush();
  assert.equal(first.summary.sent, 1);
  assert.equal(first.summary.failed, 1);
  assert.match(
    f.logs.join("\n"),
    /moved 000000000000000-corrupt.json to .*failed\/: unreadable: not JSON/,
  );
  assert.equal(first.sink.accepted[0].detail.event_id, good.event_id);

  await spoolWrite(f.dir, record(6));
  const rejected = await f.flush(failing("reject", "MalformedDetail"));
  assert.equal(rejected.summary.failed, 1);
  assert.equal(rejected.summary.remaining, 0);
  const failed = [...Deno.readDirSync(`${f.dir}/${FAILED_DIR}`)].map((e) => e.name).sort();
  assert.equal(failed.length, 4, "two records, each with its .reason");
});

Deno.test("an event that cannot be moved to failed/ is not counted as moved, and that is said", async () => {
  await using f = await fixture();
  await spoolWrite(f.dir, record(1));
  await Deno.remove(`${f.dir}/${FAILED_DIR}`);
  await Deno.writeTextFile(`${f.dir}/${FAILED_DIR}`, "not a directory");
  const { summary } = await f.flush(failing("reject", "MalformedDetail"));
  assert.equal(summary.failed, 0);
  assert.equal(summary.quarantined.size, 0);
  assert.equal(summary.remaining, 1, "it stays spooled");
  assert.match(f.logs.join("\n"), /could not move .*\.json to .*failed\/ .*MalformedDetail/);
});

Deno.test("a full spool drops the oldest, and the next delivered event says how many", async () => {
  await using f = await fixture();
  const records = Array.from({ length: 5 }, (_, n) => record(n));
  for (const r of records) await spoolWrite(f.dir, r);
  const settings = { ...DEFAULTS, spool_max_events: 3 };
  await f.flush(failing("hold"), { settings });
  assert.equal(
    f.logs.filter((l) => l.startsWith("spool full: dropped the oldest event")).length,
    2,
  );
  assert.deepEqual(await spoolList(f.dir), records.slice(2).map(recordName));
  const { sink } = await f.flush(acceptAll, { settings });
  const details = sink.accepted.map((e) => e.detail);
  assert.deepEqual(details.map((d) => d.event_id), records.slice(2).map((r) => r.event_id));
  assert.equal(details[0].spool_dropped, 2);
  assert.equal(details[1].spool_dropped, undefined);
  assert.equal(await droppedCount(f.dir), 0);
});
