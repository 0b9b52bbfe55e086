/**
 * A stuck spool gets noticed: `tattle status`, flush's exit code, the
 * metrics file, and `tattle flush --requeue-failed`, as processes under the
 * permission set.
 */

import assert from "node:assert/strict";
import { scenario } from "./support/scenario.ts";
import { notRoot } from "./support/requires.ts";
import { withSenderAccount } from "./support/sender_account.ts";
import { runTattle, senderPids } from "./support/tattle.ts";

Deno.test("status of a healthy spool: the figures, exit 0", async () => {
  await using s = await scenario();
  assert.equal((await s.run()).code, 0);
  assert.equal((await s.run()).code, 0);
  const status = await runTattle(
    ["status", "--json", "--config", s.home.configPath],
    {},
    s.home.access,
  );
  assert.equal(status.code, 0, status.stderr);
  const figures = JSON.parse(status.stdout);
  assert.equal(figures.spooled, 0);
  assert.equal(figures.failed, 0);
  assert.equal(figures.sentTotal, 2);
  assert(Date.now() - Date.parse(figures.lastSuccess) < 60_000);
  assert.equal(figures.senderAlive, false);
  assert.equal(figures.stuck, false);
  const human = await runTattle(["status", "--config", s.home.configPath], {}, s.home.access);
  assert.match(
    human.stdout,
    /: 0 event\(s\) waiting\nfailed\/: 0 event\(s\)\ndelivered: 2 in all, the last at 20\d\d-/,
  );
});

Deno.test("a spool stuck past alert_after fails status (69) and flush (69), even while a sender holds it", async () => {
  await using s = await scenario({ alert_after: 1 });
  s.events.fault = "access-denied";
  assert.equal((await s.run()).code, 75);
  await new Promise((r) => setTimeout(r, 1500));
  const status = await runTattle(["status", "--config", s.home.configPath], {}, s.home.access);
  assert.equal(status.code, 69, status.stdout);
  assert.match(status.stdout, /1 event\(s\) waiting, the oldest \d+ s old \(STUCK: over 1 s\)/);
  assert.match(status.stdout, /last error: .*AccessDeniedException/);
  const flush = await s.flush();
  assert.equal(flush.code, 69, flush.stdout + flush.stderr);
  assert.match(
    flush.stderr,
    /the spool is stuck: 1 event\(s\), the oldest \d+ s old \(alert_after 1 s\); last error: .*AccessDeniedException/,
  );

  await using _resident = await s.startSender(["--sender-idle=0"]);
  assert(await s.until(() => senderPids(s.home.configPath).length === 1));
  await new Promise((r) => setTimeout(r, 500));
  const busy = await s.flush();
  assert.match(busy.stdout, /a sender is sending/);
  assert.equal(busy.code, 69, "stuck outranks busy");
});

Deno.test("failed/ holding events fails status and flush (65) until --requeue-failed after the fix", async () => {
  await using s = await scenario();
  s.events.fault = "failed-entry";
  s.events.entryErrorCode = "MalformedDetail";
  assert.equal((await s.run()).code, 69);
  const status = await runTattle(["status", "--config", s.home.configPath], {}, s.home.access);
  assert.equal(status.code, 65);
  assert.match(status.stdout, /failed\/: 1 event\(s\) \(see the \.reason files\)/);
  const flush = await s.flush();
  assert.equal(flush.code, 65, flush.stdout);

  s.events.fault = "none"; // the cause, fixed
  const requeued = await s.flush(["--requeue-failed"]);
  assert.equal(requeued.code, 0, requeued.stdout + requeued.stderr);
  assert.match(
    requeued.stdout,
    /moved 1 event\(s\) back from failed\/\ntattle flush: sent 1, kept 0, failed 0/,
  );
  assert.equal(s.deliveredIds().length, 1);
  assert.deepEqual([...Deno.readDirSync(`${s.home.spoolDir}/failed`)], []);
});

Deno.test("metrics_file: the node_exporter textfile, written atomically after each send", async () => {
  await using s = await scenario();
  const metrics = `${s.home.dir}/tattle.prom`;
  await s.setConfig({ metrics_file: metrics });
  assert.equal((await s.run()).code, 0);
  const text = await Deno.readTextFile(metrics);
  for (
    const [name, value] of [
      ["tattle_spool_events", "0"],
      ["tattle_oldest_event_age_seconds", "0"],
      ["tattle_failed_events", "0"],
      ["tattle_events_sent_total", "1"],
    ]
  ) {
    assert.match(text, new RegExp(`^# TYPE ${name} (gauge|counter)\n${name} ${value}$`, "m"));
  }
  const last = Number(/^tattle_last_success_timestamp_seconds (\S+)$/m.exec(text)?.[1]);
  assert(Math.abs(Date.now() / 1000 - last) < 60, String(last));
  assert.deepEqual(
    [...Deno.readDirSync(s.home.dir)].filter((e) => e.name.includes(".prom.")),
    [],
    "no temporary file left",
  );
});

Deno.test(
  "metrics_file in the documented directory, under exactly the permission set: written by the sender as tattle and by status; a symlink planted on the way, or a directory another account owns, is refused",
  { ignore: notRoot("the sender's account owns /var/lib/tattle/metrics") },
  async (t) => {
    await using account = await withSenderAccount();
    const metricsDir = "/var/lib/tattle/metrics";
    const created = !exists("/var/lib/tattle");
    // As contrib/tmpfiles.d/tattle.conf (and setup) lay them out.
    for (const dir of ["/var/lib/tattle", metricsDir]) {
      await Deno.mkdir(dir, { recursive: true, mode: 0o755 });
      await Deno.chown(dir, account.uid, account.gid);
    }
    const aside = `${metricsDir}.tattle-test-aside`;
    try {
      await using s = await scenario({ mode: "background", sender_idle: 0.01 });
      await s.handTo(account);
      const metrics = `${metricsDir}/tattle.prom`;
      await s.setConfig({ metrics_file: metrics });
      // The test's own paths only: /var/lib/tattle is the permission set's.
      const status = () => runTattle(["status", "--config", s.home.configPath], {}, s.home.access);

      await t.step("the sender, as tattle, writes it after its send", async () => {
        await Deno.remove(metrics).catch(() => {});
        assert.equal((await s.run()).code, 0);
        assert(await s.until(() => s.deliveredIds().length === 1, 15_000));
        assert(await s.until(() => exists(metrics), 5_000), "written");
        assert.equal(Deno.statSync(metrics).uid, account.uid);
        assert.equal(Deno.statSync(metrics).mode! & 0o777, 0o644, "node_exporter can read it");
        assert.match(await Deno.readTextFile(metrics), /^tattle_events_sent_total 1$/m);
      });

      await t.step("tattle status (root, on tattle's spool) writes it too", async () => {
        await Deno.remove(metrics);
        const result = await status();
        assert.equal(result.code, 0, result.stderr);
        assert.equal(result.stderr, "");
        assert(exists(metrics));
        assert.equal(
          Deno.statSync(metrics).uid,
          account.uid,
          "status ran again as the spool's owner",
        );
      });

      await t.step(
        "a symlink planted on the way is refused, and nothing is written there",
        async () => {
          const elsewhere = await Deno.makeTempDir();
          await Deno.rename(metricsDir, aside);
          await Deno.symlink(elsewhere, metricsDir);
          try {
            const result = await status();
            assert.equal(result.code, 0, "the spool's health, not the metrics, decides the exit");
            assert.match(
              result.stderr,
              new RegExp(
                `metrics file ${metrics} not written: the metrics directory ${metricsDir} is reached ` +
                  `through a symlink \\(to ${elsewhere}\\)`,
              ),
            );
            assert.deepEqual([...Deno.readDirSync(elsewhere)], []);
          } finally {
            await Deno.remove(metricsDir);
            await Deno.rename(aside, metricsDir);
            await Deno.remove(elsewhere, { recursive: true });
          }
        },
      );

      await t.step(
        "a directory another account owns (as prometheus owns Debian's) is refused",
        async () => {
          await Deno.chown(metricsDir, 65534, 65534);
          try {
            const result = await status();
            assert.match(
              result.stderr,
              /metrics directory \/var\/lib\/tattle\/metrics is not trusted: \/var\/lib\/tattle\/metrics is owned by uid 65534, not root or tattle/,
            );
          } finally {
            await Deno.chown(metricsDir, account.uid, account.gid);
          }
        },
      );
    } finally {
      await Deno.remove(aside).catch(() => {});
      if (created) await Deno.remove("/var/lib/tattle", { recursive: true });
    }
  },
);

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
