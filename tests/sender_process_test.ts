/**
 * One warm sender per host, as processes under the permission set: a burst
 * starts one sender, a resident sender means hooks start none, and an inline
 * hook whose event the sender delivered says so truthfully.
 */

import assert from "node:assert/strict";
import { spoolWrite } from "../lib/delivery/spool.ts";
import { record } from "./support/records.ts";
import { scenario } from "./support/scenario.ts";
import { pamEnv, senderPids, watchSenders } from "./support/tattle.ts";

Deno.test("a burst of 30 background logins: one sender, full batches, each event once", async () => {
  await using s = await scenario({ mode: "background" });
  const watch = watchSenders(s.home.configPath);
  const results = await Promise.all(
    Array.from({ length: 30 }, (_, i) => s.run(pamEnv({ PAM_USER: `user${i}` }))),
  );
  assert(results.every((r) => r.code === 0), results.map((r) => r.stderr).join(""));
  assert(await s.until(() => s.deliveredIds().length >= 30, 20_000), "all delivered");
  await s.until(() => senderPids(s.home.configPath).length === 0, 10_000);
  const { mostAtOnce, started } = watch.stop();
  const ids = s.deliveredIds();
  assert.equal(new Set(ids).size, 30);
  assert.equal(ids.length, 30, "each once");
  // A second sender process can start in the instant a starting sender has
  // cleared its start marker but not yet taken the lock (the order that never
  // strands a record, tests/sender_test.ts); it finds the lock held and
  // leaves. Never more than that: the lock admits one, and a burst starts few.
  assert(mostAtOnce <= 2, `${mostAtOnce} sender processes at once`);
  assert(started <= 3, `${started} senders over the burst`);
  assert(s.events.requestCount <= 10, `${s.events.requestCount} PutEvents calls for 30 events`);
  assert.deepEqual(s.spooled(), []);
});

Deno.test("a resident sender delivers everything, and hooks start no other", async () => {
  await using s = await scenario({ mode: "background" });
  await using resident = await s.startSender(["--sender-idle=0"]);
  assert(await s.until(() => senderPids(s.home.configPath).length === 1), "it runs");
  await new Promise((r) => setTimeout(r, 300)); // it holds the spool
  const watch = watchSenders(s.home.configPath);
  for (let i = 0; i < 5; i++) {
    const result = await s.run(pamEnv({ PAM_USER: `user${i}` }));
    assert.equal(result.code, 0, result.stderr);
    await new Promise((r) => setTimeout(r, 200));
  }
  assert(await s.until(() => s.deliveredIds().length === 5, 10_000));
  const { started } = watch.stop();
  assert.equal(started, 1, "only the resident one");
  assert.deepEqual(senderPids(s.home.configPath), [resident.pid]);
});

Deno.test("inline hooks whose events the running sender delivered exit 0, with no false failure", async () => {
  // A budget a loaded CI machine meets: what is tested is the outcome the hooks report.
  await using s = await scenario({ mode: "inline", timeout: 5 });
  await using resident = await s.startSender(["--sender-idle=0"]);
  assert(await s.until(() => senderPids(s.home.configPath).length === 1));
  await new Promise((r) => setTimeout(r, 300));
  const results = await Promise.all(
    Array.from({ length: 10 }, (_, i) => s.run(pamEnv({ PAM_USER: `user${i}` }))),
  );
  for (const r of results) {
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "", "nothing reported: the event was delivered");
  }
  const ids = s.deliveredIds();
  assert.equal(ids.length, 10);
  assert.equal(new Set(ids).size, 10);
  if (resident.exited()) assert.fail(`the resident sender left: ${await resident.stderr}`);
});

Deno.test("an answer that comes after `timeout` is waited for: the sender and flush send each event once", async (t) => {
  await using s = await scenario({ mode: "background" }); // timeout: 1 s
  // EventBridge takes the entries at once and answers 2.5 s later.
  s.events.answerDelayMs = 2500;
  await t.step("the sender", async () => {
    const result = await s.run(pamEnv({ PAM_USER: "alice" }));
    assert.equal(result.code, 0, result.stderr);
    assert(await s.until(() => s.deliveredIds().length >= 1, 10_000), "delivered");
    assert(await s.until(() => senderPids(s.home.configPath).length === 0, 20_000), "it left");
    assert.equal(s.deliveredIds().length, 1, "sent once");
    assert.deepEqual(s.spooled(), []);
  });
  await t.step("tattle flush", async () => {
    await spoolWrite(s.home.spoolDir, record(1, { event_id: "flushed-once" }));
    const flush = await s.flush();
    assert.equal(flush.code, 0, flush.stderr);
    assert.deepEqual(s.deliveredIds().filter((id) => id === "flushed-once"), ["flushed-once"]);
    assert.deepEqual(s.spooled(), []);
  });
});

Deno.test("SIGTERM (a restart, an upgrade): the sender ends the PutEvents under way, then leaves", async (t) => {
  await using s = await scenario({ mode: "background" });
  await t.step("idle: it leaves at once, exit 0", async () => {
    await using resident = await s.startSender(["--sender-idle=0"]);
    assert(await s.until(() => senderPids(s.home.configPath).length === 1), "it runs");
    await new Promise((r) => setTimeout(r, 300)); // waiting for work
    const asked = performance.now();
    Deno.kill(resident.pid, "SIGTERM");
    const { code } = await resident.status;
    assert.equal(code, 0, await resident.stderr);
    assert(performance.now() - asked < 1000, `left after ${performance.now() - asked} ms`);
  });
  await t.step("sending: the answer is waited for, the event is sent once", async () => {
    s.events.answerDelayMs = 1500;
    await using resident = await s.startSender(["--sender-idle=0"]);
    assert(await s.until(() => senderPids(s.home.configPath).length === 1), "it runs");
    await new Promise((r) => setTimeout(r, 300));
    const result = await s.run(pamEnv({ PAM_USER: "alice" }));
    assert.equal(result.code, 0, result.stderr);
    assert(await s.until(() => s.events.requestCount > 0, 10_000), "PutEvents under way");
    Deno.kill(resident.pid, "SIGTERM");
    const { code } = await resident.status;
    assert.equal(code, 0, await resident.stderr);
    assert.equal(s.deliveredIds().length, 1);
    assert.deepEqual(s.spooled(), [], "its file removed: nothing is sent twice");
    // It let go of the spool: a flush takes it at once.
    const flush = await s.flush();
    assert.equal(flush.code, 0, flush.stderr);
    assert.equal(s.deliveredIds().length, 1);
  });
  await t.step("retrying an outage: it leaves at once, the event kept", async () => {
    s.events.answerDelayMs = 0;
    s.events.fault = "500";
    await using resident = await s.startSender(["--sender-idle=0"]);
    assert(await s.until(() => senderPids(s.home.configPath).length === 1), "it runs");
    const result = await s.run(pamEnv({ PAM_USER: "bob" }));
    assert.equal(result.code, 0, result.stderr);
    const before = s.events.requestCount;
    assert(await s.until(() => s.events.requestCount > before + 1, 10_000), "it retries");
    const asked = performance.now();
    Deno.kill(resident.pid, "SIGTERM");
    const { code } = await resident.status;
    assert.equal(code, 75, await resident.stderr);
    assert(performance.now() - asked < 2000, `left after ${performance.now() - asked} ms`);
    assert.equal(s.spooled().length, 1, "the event waits for the next sender");
  });
});
