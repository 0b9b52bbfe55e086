/**
 * The fault matrix: each fault, in inline and background mode, then the
 * fault lifted and `tattle flush` run. Every event must end up delivered
 * exactly once, counted by event_id at the fake EventBridge.
 */

import assert from "node:assert/strict";
import { prepareSpool, spoolWrite } from "../lib/delivery/spool.ts";
import { refusedUrl, startSilentServer } from "./fakes/silent.ts";
import { record } from "./support/records.ts";
import { type Scenario, scenario, TIMEOUT_S } from "./support/scenario.ts";
import { denoRunArgs, pamEnv, type RunResult, sharedCacheDir } from "./support/tattle.ts";

interface FaultCase {
  name: string;
  /** Puts the fault in place. */
  arrange(s: Scenario): Promise<void> | void;
  /** Lifts it. */
  lift(s: Scenario): Promise<void> | void;
  /** The inline hook's exit code and stderr. */
  inline: { code: number; stderr: RegExp };
}

const SPOOLED = /^tattle: error: event spooled at .*\.json for later delivery: /;

const imdsFault = (
  fault: "hang" | "500" | "no-document" | "no-v2" | "credentials-hang",
  why: RegExp,
) => ({
  name: `IMDS ${fault}`,
  arrange: (s: Scenario) => void (s.imds.fault = fault),
  lift: (s: Scenario) => void (s.imds.fault = "none"),
  inline: { code: 75, stderr: why },
});

const eventsFault = (fault: "500" | "throttle" | "failed-entry" | "hang", why: RegExp) => ({
  name: `EventBridge ${fault}`,
  arrange: (s: Scenario) => {
    s.events.fault = fault;
    s.events.entryErrorCode = "InternalFailure";
  },
  lift: (s: Scenario) => void (s.events.fault = "none"),
  inline: { code: 75, stderr: why },
});

const silent: Array<AsyncDisposable> = [];

const CASES: FaultCase[] = [
  {
    name: "IMDS refused",
    arrange: (s) => s.setConfig({ imds_endpoint: refusedUrl() }),
    lift: (s) => s.setConfig({ imds_endpoint: s.imds.url }),
    inline: { code: 75, stderr: /IMDS at .* did not answer: connection refused/ },
  },
  imdsFault("hang", /IMDS at .* did not answer before the timeout/),
  imdsFault("500", /IMDS at .* answered HTTP 500/),
  imdsFault("no-document", /IMDS at .* answered HTTP 404/),
  imdsFault("no-v2", /IMDS at .* refused an IMDSv2 token/),
  imdsFault("credentials-hang", /EventBridge at .* did not answer within the 1 s timeout/),
  {
    name: "EventBridge refused",
    arrange: (s) => s.setConfig({ endpoint_url: refusedUrl() }),
    lift: (s) => s.setConfig({ endpoint_url: s.events.url }),
    inline: {
      code: 75,
      stderr: /EventBridge at .* did not accept the event: .*connection refused/,
    },
  },
  eventsFault("500", /InternalException|did not answer within/),
  eventsFault("throttle", /ThrottlingException|did not answer within/),
  eventsFault("failed-entry", /InternalFailure: fake entry failure|did not answer within/),
  eventsFault("hang", /did not answer within the 1 s timeout/),
  {
    name: "EventBridge accepts TCP and is silent",
    arrange: async (s) => {
      const server = startSilentServer();
      silent.push(server);
      await s.setConfig({ endpoint_url: server.url });
    },
    lift: (s) => s.setConfig({ endpoint_url: s.events.url }),
    inline: { code: 75, stderr: /did not answer within the 1 s timeout/ },
  },
];

function assertLine(result: RunResult, code: number, pattern: RegExp) {
  assert.equal(result.code, code, result.stderr);
  assert.equal(result.stdout, "");
  assert.equal(result.stderr.trimEnd().split("\n").length, 1, result.stderr);
  assert.match(result.stderr, pattern);
}

for (const fault of CASES) {
  Deno.test(`fault: ${fault.name}`, async (t) => {
    await using s = await scenario();
    await fault.arrange(s);

    await t.step("inline: spooled, exit and line, within timeout + 0.5 s", async () => {
      const result = await s.run();
      assertLine(result, fault.inline.code, SPOOLED);
      assert.match(result.stderr, fault.inline.stderr);
      assert(result.ms < TIMEOUT_S * 1000 + 500, `${result.ms.toFixed(0)} ms`);
      assert.equal(s.spooled().length, 1);
    });

    await t.step("background: exit 0 with nothing printed, within 0.5 s", async () => {
      const result = await s.run(pamEnv(), ["--mode", "background"]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, "");
      assert(result.ms < 500, `${result.ms.toFixed(0)} ms`);
    });

    await t.step(
      "fault lifted: each event delivered exactly once (flush, or the sender)",
      async () => {
        await fault.lift(s);
        const flush = await s.flush();
        // The background step's sender may still hold the spool, retrying: then it delivers.
        assert.match(
          flush.stdout,
          /^tattle flush: sent \d+, kept \d+, failed 0( \(a sender is sending\))?\n$/,
        );
        assert(await s.until(() => s.deliveredIds().length >= 2, 20_000), "delivered");
        await new Promise((r) => setTimeout(r, 300)); // nothing more arrives
        const ids = s.deliveredIds();
        assert.equal(ids.length, 2, ids.join(", "));
        assert.equal(new Set(ids).size, 2);
        assert.deepEqual(s.spooled(), []);
      },
    );
    await Promise.all(silent.splice(0).map((d) => d[Symbol.asyncDispose]()));
  });
}

Deno.test("fault: spool directory not usable: the event is sent directly", async () => {
  await using s = await scenario();
  await s.setConfig({ spool_dir: `${s.home.configPath}/spool` }); // below a file: cannot exist
  const result = await s.run();
  assertLine(
    result,
    0,
    /^tattle: warning: spool .* is not usable: .*; the event was sent directly/,
  );
  assert.equal(s.deliveredIds().length, 1);
});

Deno.test("fault: spool directory not usable and EventBridge down: exit 69, event lost, said so", async () => {
  await using s = await scenario();
  await s.setConfig({ spool_dir: `${s.home.configPath}/spool` });
  s.events.fault = "500";
  const result = await s.run();
  assertLine(
    result,
    69,
    /^tattle: error: event lost: spool .* is not usable: .*, and sending failed: /,
  );
  assert(result.ms < TIMEOUT_S * 1000 + 500, `${result.ms.toFixed(0)} ms`);
});

Deno.test("fault: spool full: oldest dropped and reported in the next delivered event", async () => {
  await using s = await scenario({ spool_max_events: 3 });
  await prepareSpool(s.home.spoolDir);
  const old = Array.from({ length: 3 }, (_, n) => record(n));
  for (const r of old) await spoolWrite(s.home.spoolDir, r);
  s.events.fault = "500";
  const result = await s.run();
  assert.equal(result.code, 75, result.stderr);
  s.events.fault = "none";
  const flush = await s.flush();
  assert.equal(flush.code, 0, flush.stderr);
  const ids = s.deliveredIds();
  assert.equal(ids.length, 3);
  assert(!ids.includes(old[0].event_id), "the oldest was dropped");
  assert.equal(s.events.received[0].detail.spool_dropped, 1);
  assert.match(result.stderr + flush.stderr, /spool full: dropped the oldest event/);
});

Deno.test("fault: a corrupt spool file is moved aside and never blocks the queue", async () => {
  await using s = await scenario();
  await prepareSpool(s.home.spoolDir);
  await Deno.writeTextFile(`${s.home.spoolDir}/000000000000001-corrupt.json`, "\u0000garbage");
  const result = await s.run();
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stderr,
    /moved 000000000000001-corrupt.json to .*\/failed\/: unreadable: not JSON/,
  );
  assert.equal(s.deliveredIds().length, 1);
  assert(Deno.statSync(`${s.home.spoolDir}/failed/000000000000001-corrupt.json.reason`).isFile);
});

Deno.test("fault: kill -9 during a send leaves the event spooled, delivered once later", async () => {
  await using s = await scenario({ timeout: 10 });
  s.events.fault = "hang";
  const child = new Deno.Command(Deno.execPath(), {
    args: [...denoRunArgs(s.home.access), "--config", s.home.configPath],
    env: { ...pamEnv(), DENO_DIR: await sharedCacheDir() },
    clearEnv: true,
    stdout: "null",
    stderr: "null",
  }).spawn();
  assert(await s.until(() => s.events.requestCount > 0), "the send started");
  child.kill("SIGKILL");
  const status = await child.status;
  assert.equal(status.signal, "SIGKILL");
  assert.equal(s.spooled().length, 1);
  assert.deepEqual(
    [...Deno.readDirSync(s.home.spoolDir)].filter((e) => e.name.startsWith(".tmp")),
    [],
  );
  s.events.fault = "none";
  await s.setConfig({ timeout: 1 });
  const flush = await s.flush();
  assert.equal(flush.code, 0, flush.stderr);
  assert.equal(s.deliveredIds().length, 1);
});

Deno.test("fault: 20 events queued while EventBridge is down, then recovered", async () => {
  await using s = await scenario({ mode: "background" });
  s.events.fault = "500";
  const runs = [];
  for (let i = 0; i < 20; i++) {
    runs.push(s.run(pamEnv({ PAM_USER: `user${i}` })));
    if (runs.length % 5 === 0) await Promise.all(runs.slice(-5));
  }
  const results = await Promise.all(runs);
  assert(results.every((r) => r.code === 0), results.map((r) => r.stderr).join(""));
  assert(await s.until(() => s.spooled().length === 20), `${s.spooled().length} spooled`);
  s.events.fault = "none";
  const flush = await s.flush();
  // Either this flush sent them, or a detached sender holding the spool does.
  if (flush.code !== 0) {
    assert.equal(flush.code, 75, flush.stderr);
    assert.match(flush.stdout, /a sender is sending/);
  }
  assert(await s.until(() => s.deliveredIds().length >= 20, 30_000));
  await new Promise((r) => setTimeout(r, 300)); // nothing more arrives
  const ids = s.deliveredIds();
  assert.equal(ids.length, 20);
  assert.equal(new Set(ids).size, 20);
  const users = s.events.received.map((e) => e.detail.username).sort();
  assert.deepEqual(users, Array.from({ length: 20 }, (_, i) => `user${i}`).sort());
});

Deno.test("fault: 8 concurrent flushers send each spooled event exactly once", async () => {
  // Each flusher waits up to `timeout` for the lock: enough for the holder to send all 40 while
  // eight runtimes start at once on this machine's cores (the test is about exactly once).
  await using s = await scenario({ timeout: 10 });
  await prepareSpool(s.home.spoolDir);
  const records = Array.from({ length: 40 }, (_, n) => record(n));
  for (const r of records) await spoolWrite(s.home.spoolDir, r);
  const flushes = await Promise.all(Array.from({ length: 8 }, () => s.flush()));
  assert(flushes.every((f) => f.code === 0), flushes.map((f) => f.stderr).join(""));
  const sent = flushes.map((f) => Number(/sent (\d+)/.exec(f.stdout)?.[1]));
  assert.equal(sent.reduce((a, b) => a + b, 0), 40);
  const ids = s.deliveredIds();
  assert.equal(ids.length, 40);
  assert.deepEqual(new Set(ids), new Set(records.map((r) => r.event_id)));
  assert.deepEqual(s.spooled(), []);
});
