/**
 * One sender per spool: at most one alive, none needed more than once, and
 * no record stranded between a sender deciding to leave and a hook deciding
 * not to start one.
 */

import assert from "node:assert/strict";
import { DEFAULTS } from "../lib/config/config.ts";
import { flushSpool } from "../lib/delivery/flush.ts";
import { runSender, type SenderReport } from "../lib/delivery/sender.ts";
import { tryLock } from "../lib/delivery/lock.ts";
import { ensureSender, START_MARKER } from "../lib/delivery/spawn.ts";
import { prepareSpool, spoolList, spoolWrite } from "../lib/delivery/spool.ts";
import { fakeSink } from "./fakes/sink.ts";
import { record } from "./support/records.ts";

async function spool() {
  const root = await Deno.makeTempDir({ prefix: "tattle-sender-" });
  const dir = `${root}/spool`;
  await prepareSpool(dir);
  const lock = `${root}/sender.lock`;
  return { dir, lock, [Symbol.asyncDispose]: () => Deno.remove(root, { recursive: true }) };
}

Deno.test("stress: hooks and leaving senders race, and no record is ever stranded", async () => {
  await using s = await spool();
  const sink = fakeSink();
  const senders: Array<Promise<SenderReport>> = [];
  let alive = 0;
  let mostAlive = 0;
  const startSender = () => {
    senders.push((async () => {
      alive++;
      mostAlive = Math.max(mostAlive, alive);
      try {
        return await runSender({
          dir: s.dir,
          lock: s.lock,
          lingerMs: 0, // leave as soon as idle: the race as often as possible
          retryBudgetMs: 5000,
          passBudgetMs: 5000,
          log: () => {},
          pass: async (deadline) => {
            const summary = await flushSpool({
              dir: s.dir,
              lock: s.lock,
              stateDir: `${s.dir}/../state`,
              settings: DEFAULTS,
              sink: () => Promise.resolve(sink),
              identity: () => Promise.reject(new Error("every record has one")),
              account: () => Promise.resolve(undefined),
              log: () => {},
              version: "test",
              deadline,
              stepMs: 1000,
            });
            // Widen the window the exit protocol covers: between the pass's
            // last look at the spool and the sender letting go of it.
            await new Promise((r) => setTimeout(r, Math.random() * 3));
            return summary;
          },
        });
      } finally {
        alive--;
      }
    })());
  };
  // A hook: write the record, then make sure a sender will see it.
  const hook = async (n: number) => {
    await new Promise((r) => setTimeout(r, Math.random() * 4));
    await spoolWrite(s.dir, record(n % 60, { event_id: `id-${n}` }));
    await ensureSender(s.dir, s.lock, startSender);
  };
  // Rounds of a few hooks, each followed by waiting for the senders to leave:
  // a record stranded in a round's tail stays in the spool.
  const rounds = 300;
  const perRound = 6;
  for (let round = 0; round < rounds; round++) {
    await Promise.all(Array.from({ length: perRound }, (_, i) => hook(round * perRound + i)));
    while (alive > 0) await Promise.all(senders);
    assert.deepEqual(await spoolList(s.dir), [], `round ${round}: a record was stranded`);
  }
  const total = rounds * perRound;
  const ids = sink.accepted.map((e) => e.detail.event_id);
  assert.equal(ids.length, total, "every record delivered");
  assert.equal(new Set(ids).size, total, "each once");
  const ran = (await Promise.all(senders)).filter((r) => r.ran).length;
  console.log(
    `  ${total} records, ${senders.length} senders started, ${ran} ran, ${mostAlive} alive at most`,
  );
  assert(ran >= rounds, `the race was exercised: ${ran} senders came and went`);
  // A hook that claimed the marker looks at the lock once more before it
  // starts a sender (without that second look, about 1.65 starts per sender
  // that ran; with it, about 1.12).
  assert(
    senders.length < ran * 1.4,
    `${senders.length} senders started for ${ran} that ran: hooks start senders needlessly`,
  );
});

Deno.test("a hook starts no sender while one holds the spool, or one is starting", async () => {
  await using s = await spool();
  let started = 0;
  const lock = await tryLock(s.lock);
  assert.equal(await ensureSender(s.dir, s.lock, () => void started++), "running");
  lock!.release();
  assert.equal(await ensureSender(s.dir, s.lock, () => void started++), "started");
  assert.equal(
    await ensureSender(s.dir, s.lock, () => void started++),
    "starting",
    "the marker stands",
  );
  assert.equal(started, 1);
  // A marker left by a sender that died at start no longer counts.
  await Deno.utime(`${s.dir}/${START_MARKER}`, 0, 0);
  assert.equal(await ensureSender(s.dir, s.lock, () => void started++), "started");
  assert.equal(started, 2);
});

Deno.test("a sender that finds another holding the spool leaves at once, clearing the marker", async () => {
  await using s = await spool();
  await Deno.writeTextFile(`${s.dir}/${START_MARKER}`, "");
  const lock = await tryLock(s.lock);
  const report = await runSender({
    dir: s.dir,
    lock: s.lock,
    lingerMs: 10_000,
    retryBudgetMs: 1000,
    passBudgetMs: 1000,
    log: () => {},
    pass: () => Promise.reject(new Error("never called")),
  });
  lock!.release();
  assert.equal(report.ran, false);
  assert.deepEqual([...Deno.readDirSync(s.dir)].map((e) => e.name).includes(START_MARKER), false);
});
