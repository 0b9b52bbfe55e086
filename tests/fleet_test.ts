/**
 * Fleet recovery: after an outage, many hosts flush at once against an
 * EventBridge that throttles above a fixed rate. Every event is delivered
 * exactly once, and the retries do not come in synchronized waves.
 */

import assert from "node:assert/strict";
import { eventBridgeSink } from "../lib/aws/eventbridge.ts";
import { DEFAULTS } from "../lib/config/config.ts";
import { flushSpool } from "../lib/delivery/flush.ts";
import { prepareSpool, spoolList, spoolWrite } from "../lib/delivery/spool.ts";
import { deadlineIn } from "../lib/util/deadline.ts";
import { startFakeEventBridge } from "./fakes/eventbridge.ts";
import { FAKE_ROLE } from "./fakes/imds.ts";
import { record } from "./support/records.ts";

const HOSTS = 24;
const EVENTS_PER_HOST = 8;
/** Each host signs with its own key, so the fake can tell a host's first request from its retries. */
const keyOf = (host: number) => `ASIAFLEETHOST${String(host).padStart(7, "0")}`;
const SECRET = FAKE_ROLE.secretAccessKey;

/** Every host's spool flushed at once, each with its own sink; returns the fake's request times. */
async function recover(random: () => number) {
  await using events = startFakeEventBridge(
    Object.fromEntries(Array.from({ length: HOSTS }, (_, host) => [keyOf(host), SECRET])),
  );
  events.rateLimit = { perSecond: 10, burst: 4 };
  const root = await Deno.makeTempDir({ prefix: "tattle-fleet-" });
  try {
    const spools = [];
    for (let host = 0; host < HOSTS; host++) {
      const dir = `${root}/host${host}`;
      await prepareSpool(dir);
      for (let n = 0; n < EVENTS_PER_HOST; n++) {
        await spoolWrite(dir, record(n, { event_id: `h${host}-e${n}` }));
      }
      spools.push(dir);
    }
    const started = performance.now();
    const sends: Array<{ host: number; time: number }> = [];
    const summaries = await Promise.all(spools.map((dir, host) =>
      flushSpool({
        dir,
        lock: `${dir}.lock`,
        stateDir: `${dir}.state`,
        settings: DEFAULTS,
        account: () => Promise.resolve(undefined),
        sink: async (region) => {
          const sink = await eventBridgeSink({
            region,
            endpoint: events.url,
            credentials: { accessKeyId: keyOf(host), secretAccessKey: SECRET },
          });
          // When this host decides to send: what jitter decides, before any shared CPU work.
          const send: typeof sink.send = (batch, signal) => {
            sends.push({ host, time: performance.now() - started });
            return sink.send(batch, signal);
          };
          return { ...sink, send };
        },
        identity: () => Promise.reject(new Error("every record has one")),
        log: () => {},
        version: "test",
        deadline: deadlineIn(30_000),
        stepMs: 2000,
        random,
      })
    ));
    for (const dir of spools) assert.deepEqual(await spoolList(dir), []);
    // A host's retries: what it sends after its first request.
    const retriesOf = <T>(log: T[], who: (entry: T) => string | number | undefined) => {
      const firsts = new Set<string | number | undefined>();
      return log.filter((entry) => firsts.has(who(entry)) || !firsts.add(who(entry)));
    };
    return {
      ids: events.received.map((e) => String(e.detail.event_id)),
      times: retriesOf(sends, (s) => s.host).map((s) => s.time),
      arrivals: retriesOf(events.requestLog, (r) => r.accessKeyId).map((r) => r.time - started),
      throttled: events.requestCount - events.received.length / EVENTS_PER_HOST,
      sent: summaries.reduce((n, s) => n + s.sent, 0),
    };
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/**
 * Uniform numbers in [0, 1) from a fixed seed (mulberry32): the same draws on
 * every run, so only the machine's timing varies between runs.
 */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The most retries that came within 10 ms of each other: hosts in step. */
function peak(times: number[]): number {
  const retries = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < retries.length; i++) {
    while (retries[i] - retries[j] > 10) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

Deno.test("fleet recovery: each event once, and retries spread out, not in waves", async () => {
  // The control first: it also loads the SDK, whose first load would block the
  // event loop during the measured run and bunch its timers together.
  // Without jitter, every throttled host retries at the same instants.
  const lockstep = await recover(() => 1);
  const jittered = await recover(seeded(20261129));
  assert.equal(jittered.sent, HOSTS * EVENTS_PER_HOST);
  assert.equal(new Set(jittered.ids).size, HOSTS * EVENTS_PER_HOST, "each event once");
  assert.equal(jittered.ids.length, HOSTS * EVENTS_PER_HOST);
  assert(jittered.throttled > HOSTS / 2, "the fake did throttle: there were retries");

  const waves = peak(lockstep.times);
  const spread = peak(jittered.times);
  console.log(
    `  most retries sent within 10 ms: ${spread} with jitter, ${waves} without; ` +
      `arriving at the fake: ${peak(jittered.arrivals)} and ${peak(lockstep.arrivals)}`,
  );
  assert(waves >= HOSTS / 2, `the control shows waves (${waves}): the measure can see them`);
  // Uniform jitter over the first 100 ms alone puts 5 to 9 of 24 hosts within some 10 ms; a
  // loaded machine can also blur the control's waves (14 in one CI run, 16 to 19 usually).
  assert(
    spread <= Math.max(9, waves * 0.6),
    `retries come spread out: ${spread} vs ${waves} in lockstep`,
  );
});
