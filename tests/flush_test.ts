import assert from "node:assert/strict";
import { DEFAULTS } from "../lib/config.ts";
import { deadlineIn } from "../lib/deadline.ts";
import { publish } from "../lib/eventbridge.ts";
import { type FlushDeps, flushSpool } from "../lib/flush.ts";
import { droppedCount, prepareSpool, recordName, spoolList, spoolWrite } from "../lib/spool.ts";
import { startFakeEventBridge } from "./fakes/eventbridge.ts";
import { FAKE_ROLE } from "./fakes/imds.ts";
import { record } from "./support/records.ts";

const credentials = {
  accessKeyId: FAKE_ROLE.accessKeyId,
  secretAccessKey: FAKE_ROLE.secretAccessKey,
  sessionToken: FAKE_ROLE.token,
};

async function fixture() {
  const events = startFakeEventBridge({ [credentials.accessKeyId]: credentials.secretAccessKey });
  const root = await Deno.makeTempDir({ prefix: "tattle-flush-" });
  const dir = `${root}/spool`;
  await prepareSpool(dir);
  const logs: string[] = [];
  let identityCalls = 0;
  const deps: FlushDeps = {
    publish: (entries, options) => publish(entries, { ...options, credentials }),
    identity: () => {
      identityCalls++;
      return Promise.resolve({
        region: "us-east-1",
        instanceId: "i-late",
        resources: ["arn:late"],
      });
    },
    log: (line) => logs.push(line),
    version: "test",
  };
  const config = { ...DEFAULTS, endpoint_url: events.url, timeout: 1 };
  return {
    events,
    dir,
    deps,
    config,
    logs,
    identityCalls: () => identityCalls,
    flush: (max = 10_000) =>
      flushSpool(dir, { ...config, spool_max_events: max }, deadlineIn(3000), deps),
    async [Symbol.asyncDispose]() {
      await events[Symbol.asyncDispose]();
      await Deno.remove(root, { recursive: true });
    },
  };
}

Deno.test("flush sends oldest first, ten per call, and deletes what got an EventId", async () => {
  await using f = await fixture();
  const records = Array.from({ length: 23 }, (_, n) => record(n));
  for (const r of [...records].reverse()) await spoolWrite(f.dir, r);
  const summary = await f.flush();
  assert.equal(summary.sent, 23);
  assert.equal(summary.kept, 0);
  assert.equal(f.events.requestCount, 3);
  assert.deepEqual(f.events.received.map((e) => e.detail.event_id), records.map((r) => r.event_id));
  assert.deepEqual(
    f.events.received.map((e) => e.Time),
    records.map((r) => Date.parse(r.time) / 1000),
    "a spooled event keeps its time",
  );
  assert.deepEqual(await spoolList(f.dir), []);
});

Deno.test("records captured without an identity get it at send time", async () => {
  await using f = await fixture();
  await spoolWrite(f.dir, record(1, { identity: undefined }));
  await spoolWrite(f.dir, record(2, { identity: undefined }));
  await f.flush();
  assert.equal(f.identityCalls(), 1);
  assert.deepEqual(f.events.received.map((e) => e.detail.instance_id), ["i-late", "i-late"]);
});

Deno.test("retryable failures keep everything; nothing is sent twice afterwards", async () => {
  await using f = await fixture();
  for (let n = 0; n < 3; n++) await spoolWrite(f.dir, record(n));
  f.events.fault = "500";
  const failed = await f.flush();
  assert.equal(failed.sent, 0);
  assert.equal(failed.kept, 3);
  assert.match(failed.lastError!, /InternalException|did not answer/);
  f.events.fault = "none";
  const ok = await f.flush();
  assert.equal(ok.sent, 3);
  assert.equal(new Set(f.events.received.map((e) => e.detail.event_id)).size, 3);
  assert.equal(f.events.received.length, 3);
});

Deno.test("authorization failures stay queued and are reported", async () => {
  await using f = await fixture();
  await spoolWrite(f.dir, record(1));
  f.events.fault = "access-denied";
  const summary = await f.flush();
  assert.equal(summary.kept, 1);
  assert.equal(summary.failed, 0);
  assert.match(summary.lastError!, /AccessDeniedException/);
});

Deno.test("permanent rejections and corrupt files go to failed/ without blocking the queue", async () => {
  await using f = await fixture();
  await Deno.writeTextFile(`${f.dir}/000000000000000-corrupt.json`, "{oops");
  const good = record(5);
  await spoolWrite(f.dir, good);
  const summary = await f.flush();
  assert.equal(summary.sent, 1);
  assert.equal(summary.failed, 1);
  assert.match(
    f.logs.join("\n"),
    /moved 000000000000000-corrupt.json to .*failed\/: unreadable: not JSON/,
  );
  assert.equal(f.events.received[0].detail.event_id, good.event_id);

  await spoolWrite(f.dir, record(6));
  f.events.fault = "failed-entry";
  f.events.entryErrorCode = "MalformedDetail";
  const rejected = await f.flush();
  assert.equal(rejected.failed, 1);
  assert.equal(rejected.kept, 0);
  const failedDir = [...Deno.readDirSync(`${f.dir}/failed`)].map((e) => e.name).sort();
  assert.equal(failedDir.length, 4);
});

Deno.test("a full spool drops the oldest, and the next delivered event says how many", async () => {
  await using f = await fixture();
  const records = Array.from({ length: 5 }, (_, n) => record(n));
  for (const r of records) await spoolWrite(f.dir, r);
  f.events.fault = "500";
  await f.flush(3);
  assert.equal(
    f.logs.filter((l) => l.startsWith("spool full: dropped the oldest event")).length,
    2,
  );
  assert.deepEqual(await spoolList(f.dir), records.slice(2).map(recordName));
  f.events.fault = "none";
  await f.flush(3);
  const details = f.events.received.map((e) => e.detail);
  assert.deepEqual(details.map((d) => d.event_id), records.slice(2).map((r) => r.event_id));
  assert.equal(details[0].spool_dropped, 2);
  assert.equal(details[1].spool_dropped, undefined);
  assert.equal(await droppedCount(f.dir), 0);
});
