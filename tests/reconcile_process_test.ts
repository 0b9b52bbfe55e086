/**
 * Reconciliation as `tattle flush` runs it, a process under the permission
 * set: a journal written in an earlier boot (the host went down with a
 * session open) is read after this one began; a wall clock that steps
 * between two passes is not a reboot.
 */

import assert from "node:assert/strict";
import { type Journal, journalPath, newJournal, type Tracked } from "../lib/reconcile/journal.ts";
import { lacks } from "./support/requires.ts";
import { type Scenario, scenario } from "./support/scenario.ts";
import { runTattle } from "./support/tattle.ts";

const FAKETIME = `/usr/lib/${Deno.build.arch}-linux-gnu/faketime/libfaketimeMT.so.1`;

/** This boot as tattle names it at a first pass: now minus the uptime. */
const thisBoot = () => Math.round(Date.now() / 1000 - Deno.osUptime());

/** A session a hook reported, open in the journal. */
function openSession(user: string, pid: number, boot: number, start: number): Tracked {
  return {
    key: `hook:${user}`,
    source: "hook",
    reported: "hook",
    pid,
    boot,
    start: new Date(start * 1000).toISOString(),
    user,
    rhost: "203.0.113.9",
    service: "sshd",
    tty: "ssh",
    open_event_id: user,
  };
}

async function writeJournal(s: Scenario, journal: Journal) {
  await Deno.writeTextFile(journalPath(s.home.stateDir), JSON.stringify(journal));
}

const readJournal = async (s: Scenario): Promise<Journal> =>
  JSON.parse(await Deno.readTextFile(journalPath(s.home.stateDir)));

const flush = (s: Scenario, env: Record<string, string> = {}) =>
  runTattle(["flush", "--config", s.home.configPath], env, s.home.access);

Deno.test("a session open when the host went down: tattle flush closes it reboot after the next boot, once", async () => {
  await using s = await scenario({ mode: "background", reconcile_services: ["sshd"] });
  const boot = thisBoot();
  const earlierBoot = boot - 86_400; // the boot before this one, a day earlier
  // Begun now: what this machine's own wtmp holds is not this test's news.
  const journal = newJournal(Date.now());
  // The last pass of that boot: it had been up longer than this one has.
  journal.boot = { id: earlierBoot, uptime: Deno.osUptime() + 3600 };
  journal.sessions.push(
    openSession("alice-before-reboot", 4242, earlierBoot, earlierBoot + 3600),
  );
  await writeJournal(s, journal);
  const first = await flush(s);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /was open when the host went down: closed \(reboot\)/);
  assert.equal((await flush(s)).code, 0);
  const closes = s.events.received.filter((e) => e.detail.username === "alice-before-reboot");
  assert.equal(closes.length, 1, "once");
  const [close] = closes;
  assert.equal(close.detail.session, "closed");
  assert.equal(close.detail.close, "reboot");
  assert.equal(close.detail.duration_seconds, 86_400 - 3600, "until this boot began");
  const status = await runTattle(
    ["status", "--json", "--config", s.home.configPath],
    {},
    s.home.access,
  );
  assert.deepEqual(JSON.parse(status.stdout).reconciled, { found: 0, lost: 1 });
});

Deno.test("the wall clock steps 4 minutes between passes: the same boot, no session closed", {
  ignore: lacks([FAKETIME], "apt-get install libfaketime"),
}, async () => {
  await using s = await scenario({ mode: "background", reconcile_services: ["sshd"] });
  const boot = thisBoot();
  const journal = newJournal(Date.now());
  journal.boot = { id: boot, uptime: Deno.osUptime() };
  // This test's own process stands in for the session's sshd: alive throughout.
  journal.sessions.push(openSession("alice-through-a-step", Deno.pid, boot, boot + 60));
  await writeJournal(s, journal);
  // 4 minutes: past any tolerance a boot time from the wall clock could have, within the
  // 5 minutes of skew EventBridge's signatures allow.
  const stepped = await flush(s, {
    LD_PRELOAD: FAKETIME,
    FAKETIME: "+4m",
    FAKETIME_DONT_FAKE_MONOTONIC: "1",
  });
  assert.equal(stepped.code, 0, stepped.stderr);
  assert.doesNotMatch(stepped.stderr, /closed \((reboot|lost)\)/);
  const after = await readJournal(s);
  assert.equal(after.boot?.id, boot, "the boot keeps its name");
  const [session] = after.sessions;
  assert.equal(session.closed, undefined, "still open");
  assert.equal(
    s.events.received.filter((e) => e.detail.username === "alice-through-a-step").length,
    0,
  );
  assert.deepEqual(s.spooled(), []);
});
