/**
 * Reconciliation as `tattle flush` runs it, a process under the permission
 * set: a journal written in an earlier boot (the host went down with a
 * session open) is read after this one began.
 */

import assert from "node:assert/strict";
import { journalPath, newJournal } from "../lib/reconcile/journal.ts";
import { bootTime } from "../lib/host/boot.ts";
import { scenario } from "./support/scenario.ts";
import { runTattle } from "./support/tattle.ts";

Deno.test("a session open when the host went down: tattle flush closes it reboot after the next boot, once", async () => {
  await using s = await scenario({ mode: "background", reconcile_services: ["sshd"] });
  const boot = bootTime()!;
  const earlierBoot = boot - 86_400; // the boot before this one, a day earlier
  // Begun now: what this machine's own wtmp holds is not this test's news.
  const journal = newJournal(Date.now());
  journal.sessions.push({
    key: "hook:before-the-reboot",
    source: "hook",
    reported: "hook",
    pid: 4242,
    boot: earlierBoot,
    start: new Date((earlierBoot + 3600) * 1000).toISOString(),
    user: "alice-before-reboot",
    rhost: "203.0.113.9",
    service: "sshd",
    tty: "ssh",
    open_event_id: "before-the-reboot",
  });
  await Deno.writeTextFile(journalPath(s.home.stateDir), JSON.stringify(journal));
  const flush = () => runTattle(["flush", "--config", s.home.configPath], {}, s.home.access);
  const first = await flush();
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /was open when the host went down: closed \(reboot\)/);
  assert.equal((await flush()).code, 0);
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
