/**
 * Reconciliation's logic, with the system's sessions and the spool given:
 * every case the README promises, each a pass or a few in a row, the
 * journal carried from one to the next as the pass would write it.
 */

import assert from "node:assert/strict";
import type { CapturedEvent } from "../lib/delivery/record.ts";
import { followBoot } from "../lib/reconcile/boot.ts";
import { JOURNAL, type Journal, newJournal } from "../lib/reconcile/journal.ts";
import { parseShowSession, readLogind, sessionIds } from "../lib/reconcile/logind.ts";
import { reconcile, type ReconcileInput, RETAIN_MS } from "../lib/reconcile/reconcile.ts";
import { fromLogind, fromWtmp, type SystemSession } from "../lib/reconcile/system.ts";
import { UT } from "../lib/reconcile/utmp.ts";

const BOOT = Date.parse("2026-12-07T08:00:00Z");
const T0 = Date.parse("2026-12-07T12:00:00Z");
const fixture = (name: string) =>
  Deno.readTextFileSync(new URL(`./fixtures/logind/${name}`, import.meta.url));

/** A hook's record, as the hook spools it. */
function hookRecord(
  state: "opened" | "closed",
  at: number,
  pid = 4242,
  user = "alice",
): { name: string; record: CapturedEvent } {
  const record: CapturedEvent = {
    v: 1,
    event_id: crypto.randomUUID(),
    time: new Date(at).toISOString(),
    hostname: "web-1",
    session: {
      state,
      user,
      rhost: "203.0.113.9",
      service: "sshd",
      tty: "ssh",
      truncated: [],
    },
    session_pid: pid,
  };
  return { name: `${at}-${record.event_id}.json`, record };
}

function logindSession(start: number, leader = 4242, user = "alice"): SystemSession {
  return {
    key: `logind:3:${(start - BOOT) * 1000}`,
    source: "logind",
    pid: leader,
    user,
    rhost: "203.0.113.9",
    service: "sshd",
    tty: "",
    start,
  };
}

function utmpSession(start: number, pid = 5001, end?: number): SystemSession {
  return {
    key: `utmp:pts/0:${pid}:${start}`,
    source: "utmp",
    pid,
    user: "alice",
    rhost: "203.0.113.9",
    service: "sshd",
    tty: "pts/0",
    start,
    ...(end === undefined ? {} : { end, endedBy: "logout" as const }),
  };
}

/** Passes in a row over one journal, as the sender runs them. */
function host(since = T0 - 3600_000) {
  let journal: Journal = newJournal(since);
  const spooled: CapturedEvent[] = [];
  return {
    get journal() {
      return journal;
    },
    spooled,
    async pass(input: Partial<ReconcileInput> & { now: number }) {
      const out = await reconcile({
        journal,
        bootMs: BOOT,
        hostname: "web-1",
        pending: [],
        alive: () => true,
        ignoredBy: () => Promise.resolve(undefined),
        graceMs: 30_000,
        ...input,
      });
      journal = JOURNAL.parse(JSON.parse(JSON.stringify(out.journal))); // as written and read
      spooled.push(...out.spool);
      return out;
    },
  };
}

const opened = (events: CapturedEvent[]) => events.filter((e) => e.session.state === "opened");
const closed = (events: CapturedEvent[]) => events.filter((e) => e.session.state === "closed");

Deno.test("loginctl's parseable output gives each session's id, leader, service and start", () => {
  assert.deepEqual(sessionIds(fixture("list-sessions.txt")), ["3", "c7"]);
  const sessions = parseShowSession(fixture("show-session.txt"));
  assert.deepEqual(sessions.map((s) => [s.id, s.user, s.leader, s.service, s.remote]), [
    ["3", "alice", 4242, "sshd", true],
    ["c7", "bob", 977, "login", false],
  ]);
  const [alice] = fromLogind(sessions, BOOT, ["sshd"]);
  assert.equal(alice.start, BOOT + 81_235, "boot time plus the monotonic timestamp");
  assert.equal(alice.rhost, "203.0.113.9");
  assert.equal(fromLogind(sessions, BOOT, ["sshd"]).length, 1, "only the services reported");
});

Deno.test("readLogind asks loginctl for the ids, then every session's properties in one run", async () => {
  const asked: string[][] = [];
  const sessions = await readLogind((args) => {
    asked.push(args);
    return Promise.resolve(
      args[0] === "list-sessions" ? fixture("list-sessions.txt") : fixture("show-session.txt"),
    );
  });
  assert.equal(sessions.length, 2);
  assert.deepEqual(asked[0], ["list-sessions", "--no-legend", "--no-pager"]);
  assert.equal(asked[1][0], "show-session");
  assert.deepEqual(asked[1].slice(-2), ["3", "c7"]);
});

Deno.test("wtmp: a login and its logout make an ended session; a boot ends what was open", () => {
  const record = (type: number, pid: number, line: string, time: number, user = "alice") => ({
    type,
    pid,
    line,
    user: type === UT.USER_PROCESS ? user : "",
    host: type === UT.USER_PROCESS ? "203.0.113.9" : "",
    time,
  });
  const ended = fromWtmp([
    record(UT.USER_PROCESS, 10, "pts/0", 1000),
    record(UT.DEAD_PROCESS, 10, "pts/0", 5000),
    record(UT.USER_PROCESS, 11, "pts/1", 6000, "bob"),
    record(UT.BOOT_TIME, 0, "~", 9000),
    record(UT.USER_PROCESS, 12, "pts/0", 9500), // still open: utmp has it
  ]);
  assert.deepEqual(ended.map((s) => [s.user, s.start, s.end, s.endedBy]), [
    ["alice", 1000, 5000, "logout"],
    ["bob", 6000, 9000, "reboot"],
  ]);
});

Deno.test("a session the hook reported is never reported again, whichever side is seen first", async (t) => {
  await t.step("logind (the session is registered before the hook runs)", async () => {
    const h = host();
    const session = logindSession(T0);
    await h.pass({ now: T0 + 1000, system: [session] }); // the hook still running: within grace
    const open = hookRecord("opened", T0 + 2000);
    await h.pass({ now: T0 + 5000, system: [session], pending: [open] });
    await h.pass({ now: T0 + 60_000, system: [session] }); // past the grace: matched, not news
    const close = hookRecord("closed", T0 + 90_000);
    await h.pass({ now: T0 + 90_500, system: [session], pending: [close] });
    await h.pass({ now: T0 + 120_000, system: [], alive: () => false });
    assert.deepEqual(h.spooled, [], "nothing but the hook's own events");
  });
  await t.step("utmp (the pty is made after the hook ran)", async () => {
    const h = host();
    const open = hookRecord("opened", T0);
    await h.pass({ now: T0 + 100, system: [], pending: [open] });
    const pty = utmpSession(T0 + 300);
    await h.pass({ now: T0 + 1000, system: [pty] });
    const close = hookRecord("closed", T0 + 50_000);
    await h.pass({ now: T0 + 50_100, system: [pty], pending: [close] });
    // Logged out: utmp forgets it, wtmp has the pair; sshd is gone.
    const ended = utmpSession(T0 + 300, 5001, T0 + 50_050);
    await h.pass({ now: T0 + 60_000, system: [ended], alive: () => false });
    await h.pass({ now: T0 + 120_000, system: [ended], alive: () => false });
    assert.deepEqual(h.spooled, []);
  });
});

Deno.test("a session the hook never saw is reported once, found_by reconcile, as the system recorded it", async () => {
  const h = host();
  const pty = utmpSession(T0, 5001);
  const first = await h.pass({ now: T0 + 5000, system: [pty] });
  assert.equal(first.spool.length, 1);
  const [open] = first.spool;
  assert.equal(open.session.state, "opened");
  assert.equal(open.found_by, "reconcile");
  assert.equal(open.session.user, "alice");
  assert.equal(open.session.rhost, "203.0.113.9");
  assert.equal(open.time, new Date(T0).toISOString(), "the session's start, not when it was found");
  await h.pass({ now: T0 + 65_000, system: [pty] });
  // It ends: the system records the end (wtmp); the close has it, and no "lost".
  const ended = utmpSession(T0, 5001, T0 + 100_000);
  await h.pass({ now: T0 + 125_000, system: [ended], alive: () => false });
  await h.pass({ now: T0 + 185_000, system: [ended], alive: () => false });
  assert.deepEqual(h.spooled.map((e) => e.session.state), ["opened", "closed"]);
  const [, close] = h.spooled;
  assert.equal(close.found_by, "reconcile");
  assert.equal(close.close, undefined);
  assert.equal(close.time, new Date(T0 + 100_000).toISOString());
  assert.equal(close.duration_seconds, 100);
  assert.equal(h.journal.found.length, 1);
});

Deno.test("a session found already over is reported with both events; lost when nothing says when it ended", async () => {
  const h = host();
  // utmp still lists it, but its process is gone (sshd killed): no record of the end.
  const stale = utmpSession(T0, 5001);
  await h.pass({ now: T0 + 30_000, system: [stale], alive: () => false });
  await h.pass({ now: T0 + 90_000, system: [stale], alive: () => false });
  assert.deepEqual(h.spooled.map((e) => [e.session.state, e.found_by, e.close]), [
    ["opened", "reconcile", undefined],
    ["closed", "reconcile", "lost"],
  ]);
});

Deno.test("logind: a session is left to its hook for the grace period, then reported; a late hook's open is not sent", async () => {
  const h = host();
  const session = logindSession(T0);
  assert.deepEqual((await h.pass({ now: T0 + 10_000, system: [session] })).spool, []);
  const found = await h.pass({ now: T0 + 40_000, system: [session] });
  assert.equal(opened(found.spool).length, 1);
  const late = hookRecord("opened", T0 + 35_000);
  const after = await h.pass({ now: T0 + 41_000, system: [session], pending: [late] });
  assert.deepEqual(after.drop, [late.name], "the late hook's open is taken out of the spool");
  assert.match(after.notes.join("\n"), /came after reconciliation reported it/);
  // Its close is the session's close: sent as the hook's, not doubled.
  const close = hookRecord("closed", T0 + 100_000);
  await h.pass({ now: T0 + 100_500, system: [session], pending: [close] });
  await h.pass({ now: T0 + 160_000, system: [], alive: () => false });
  assert.deepEqual(h.spooled.map((e) => e.session.state), ["opened"]);
});

Deno.test("a session whose sshd is gone without its close: closed lost, once; its close in the spool means it was not lost", async (t) => {
  await t.step("killed", async () => {
    const h = host();
    await h.pass({ now: T0 + 100, pending: [hookRecord("opened", T0)] });
    const lost = await h.pass({ now: T0 + 30_000, alive: () => false });
    assert.deepEqual(closed(lost.spool).map((e) => [e.close, e.found_by, e.duration_seconds]), [
      ["lost", undefined, 30],
    ]);
    await h.pass({ now: T0 + 90_000, alive: () => false });
    assert.equal(h.spooled.length, 1, "once");
    assert.equal(h.journal.lost.length, 1);
  });
  await t.step("its hook closed it just before sshd exited", async () => {
    const h = host();
    await h.pass({ now: T0 + 100, pending: [hookRecord("opened", T0)] });
    const out = await h.pass({
      now: T0 + 30_000,
      alive: () => false,
      pending: [hookRecord("closed", T0 + 29_000)],
    });
    assert.deepEqual(out.spool, []);
  });
});

Deno.test("a session open when the host went down is closed reboot after the next boot", async () => {
  const h = host();
  await h.pass({ now: T0 + 100, pending: [hookRecord("opened", T0)] });
  // The next boot: a day later. The old sshd's pid may well be someone else's now.
  const nextBoot = T0 + 86_400_000;
  const out = await h.pass({ now: nextBoot + 60_000, bootMs: nextBoot, alive: () => true });
  assert.deepEqual(out.spool.map((e) => [e.session.state, e.close, e.time]), [
    ["closed", "reboot", new Date(nextBoot).toISOString()],
  ]);
  await h.pass({ now: nextBoot + 120_000, bootMs: nextBoot });
  assert.equal(h.spooled.length, 1, "once");
});

Deno.test("a session the ignore rules match is not reported, and not asked about again", async () => {
  const h = host();
  let asked = 0;
  const ignoredBy = () => (asked++, Promise.resolve('ignore.users has "alice"'));
  const pty = utmpSession(T0, 5001);
  await h.pass({ now: T0 + 5000, system: [pty], ignoredBy });
  await h.pass({ now: T0 + 65_000, system: [pty], ignoredBy, alive: () => false });
  assert.deepEqual(h.spooled, []);
  assert.equal(asked, 1);
});

Deno.test("history is not news: wtmp's sessions that ended before reconciliation began are left alone", async () => {
  const h = host(T0);
  const old = utmpSession(T0 - 7200_000, 5001, T0 - 3600_000);
  assert.deepEqual((await h.pass({ now: T0 + 1000, system: [old] })).spool, []);
  const fresh = utmpSession(T0 + 500, 5002, T0 + 900);
  assert.equal((await h.pass({ now: T0 + 2000, system: [old, fresh] })).spool.length, 2);
});

Deno.test("a pass cut short after spooling, before writing the journal, reports nothing twice", async () => {
  const h = host();
  const pty = utmpSession(T0, 5001);
  const journalBefore = h.journal;
  const first = await reconcile({
    journal: journalBefore,
    now: T0 + 5000,
    bootMs: BOOT,
    hostname: "web-1",
    pending: [],
    system: [pty],
    alive: () => true,
    ignoredBy: () => Promise.resolve(undefined),
    graceMs: 30_000,
  });
  // The journal was never written: the next pass has the old one, and the spooled open.
  const pending = first.spool.map((record) => ({ name: `${record.event_id}.json`, record }));
  const again = await h.pass({ now: T0 + 65_000, system: [pty], pending });
  assert.deepEqual(again.spool, []);
});

Deno.test("closed sessions are forgotten a day after, unless the system still lists them", async () => {
  const h = host();
  await h.pass({ now: T0 + 100, pending: [hookRecord("opened", T0)] });
  await h.pass({ now: T0 + 200, pending: [hookRecord("closed", T0 + 150)] });
  assert.equal(h.journal.sessions.length, 1);
  await h.pass({ now: T0 + RETAIN_MS + 1000 });
  assert.equal(h.journal.sessions.length, 0);
});

Deno.test("the boot is followed from pass to pass: clock steps keep it, a reboot changes it", () => {
  const first = followBoot(undefined, { estimate: 1_000_000, uptime: 600, utmp: 999_990 });
  assert.deepEqual(first, { id: 1_000_000, uptime: 600, utmp: 999_990 });
  for (const step of [-3600, -120, 120, 3600]) {
    const after = followBoot(first, { estimate: 1_000_000 + step, uptime: 700, utmp: 999_990 });
    assert.equal(after.id, first.id, `a ${step} s step`);
  }
  // The uptime went back: whatever the wall clock says, a new boot.
  assert.deepEqual(followBoot(first, { estimate: 1_050_000, uptime: 30, utmp: 999_990 }), {
    id: 1_050_000,
    uptime: 30,
    utmp: 999_990,
  });
  // Up longer than the last pass saw, but utmp's boot record changed: a new boot.
  const rebooted = followBoot(first, { estimate: 1_090_000, uptime: 5000, utmp: 1_089_990 });
  assert.equal(rebooted.id, 1_090_000);
  // No boot record in this reading (utmp rewritten, or unreadable): the last one is kept.
  const unread = followBoot(first, { estimate: 1_000_060, uptime: 800 });
  assert.deepEqual(unread, { id: 1_000_000, uptime: 800, utmp: 999_990 });
  // Neither reading has one: the uptime alone decides.
  const bare = followBoot(undefined, { estimate: 5, uptime: 100 });
  assert.equal(followBoot(bare, { estimate: 900, uptime: 200 }).id, 5);
  assert.equal(followBoot(bare, { estimate: 900, uptime: 50 }).id, 900);
});
