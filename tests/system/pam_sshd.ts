/**
 * System tests: tattle under real PAM (pamtester, pam_exec.so) and a real
 * sshd on 127.0.0.1 whose PAM stack is this machine's /etc/pam.d/sshd as
 * `tattle setup --pam --disable-user-readenv` leaves it.
 *
 * Run with `deno task test:system` (root; CI installs the packages).
 */

import assert from "node:assert/strict";
import { tattleLine } from "../../lib/setup/pam_line.ts";
import { scenario } from "../support/scenario.ts";
import {
  Cleanups,
  createUser,
  forThisCheckout,
  prerequisites,
  sh,
  sha256,
  stackFromSetup,
  startSshd,
  SYSTEM_PAM,
  writeStandIn,
} from "./host.ts";

const missing = prerequisites();

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

Deno.test({
  name: "system: pamtester and a real sshd on setup's stack",
  ignore: missing !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const systemPamBefore = sha256(SYSTEM_PAM);
    await using s = await scenario({ mode: "inline", timeout: 2 });
    const cleanups = new Cleanups();
    try {
      const standIn = await writeStandIn(s.home.dir, s.home.access);
      const pamtesterService = "tattle-pamtester-test";

      await t.step("pamtester: open_session and close_session give two events", async () => {
        await Deno.writeTextFile(
          `/etc/pam.d/${pamtesterService}`,
          `${tattleLine(standIn, s.home.configPath)}\n`,
        );
        cleanups.add(() => Deno.remove(`/etc/pam.d/${pamtesterService}`));
        await sh("/usr/bin/pamtester", [
          "-I",
          "rhost=203.0.113.9",
          "-I",
          "tty=ssh",
          pamtesterService,
          "root",
          "open_session",
          "close_session",
        ]);
        const details = s.events.received.map((e) => e.detail);
        assert.deepEqual(details.map((d) => d.session), ["opened", "closed"]);
        for (const d of details) {
          assert.equal(d.username, "root");
          assert.equal(d.remote_host, "203.0.113.9");
          assert.equal(d.service, pamtesterService);
          assert.equal(d.tty, "ssh");
          assert.equal(d.tamper, undefined);
        }
        assert.notEqual(details[0].event_id, details[1].event_id);
        assert.equal(typeof details[1].duration_seconds, "number", "same process: duration");
      });

      const user = await createUser("tattle-sys-test", s.home.dir, cleanups);
      const wrong = await createUser("tattle-sys-wrong", s.home.dir, cleanups);
      const stack = forThisCheckout(
        await stackFromSetup(s.home.dir, ["--disable-user-readenv"]),
        standIn,
        s.home.configPath,
      );
      const sshd = await startSshd(s.home.dir, "sshd-tattle-sys", stack, cleanups);
      const newEvents = async (before: number, count: number) => {
        await s.until(() => s.events.received.length >= before + count, 10_000);
        return s.events.received.slice(before).map((e) => e.detail);
      };
      const fingerprint = (await sh("/usr/bin/ssh-keygen", ["-l", "-E", "sha256", "-f", user.key]))
        .stdout.split(" ")[1];

      await t.step("ssh: one opened, one closed, with the connection and key", async () => {
        const before = s.events.received.length;
        const result = await sshd.ssh(user, ["sh", "-c", "'echo $SSH_CONNECTION'"]);
        assert.equal(result.code, 0, result.stderr);
        const clientPort = Number(result.stdout.trim().split(" ")[1]);
        const details = await newEvents(before, 2);
        assert.deepEqual(details.map((d) => d.session), ["opened", "closed"]);
        for (const d of details) {
          assert.equal(d.username, user.name);
          assert.equal(d.remote_host, "127.0.0.1");
          assert.equal(d.source_ip, "127.0.0.1");
          assert.equal(d.source_port, clientPort);
          assert.equal(d.service, sshd.service);
          assert.deepEqual(d.auth, {
            method: "publickey",
            key_type: "ssh-ed25519",
            key_fingerprint: fingerprint,
          });
          assert.equal(d.tamper, undefined);
        }
        assert.equal(typeof details[1].duration_seconds, "number");
      });

      await t.step(
        "ssh true, ssh -tt and scp each give exactly one opened and one closed",
        async () => {
          const runs: Array<[string, () => Promise<{ code: number; stderr: string }>]> = [
            ["ssh true", () => sshd.ssh(user, ["true"])],
            ["ssh -tt", () => sshd.ssh(user, ["true"], ["-tt"])],
            ["scp", () =>
              sh("/usr/bin/scp", [
                ...sshd.sshOptions(user).map((a) => a === "-p" ? "-P" : a),
                `${user.key}.pub`,
                `${user.name}@127.0.0.1:/tmp/tattle-scp-test`,
              ], { check: false })],
          ];
          for (const [name, run] of runs) {
            const before = s.events.received.length;
            const result = await run();
            assert.equal(result.code, 0, `${name}: ${result.stderr}`);
            const details = await newEvents(before, 2);
            await new Promise((r) => setTimeout(r, 200)); // nothing more arrives
            assert.deepEqual(
              s.events.received.slice(before).map((e) => e.detail.session),
              ["opened", "closed"],
              name,
            );
            assert.equal(details[0].username, user.name);
          }
          await Deno.remove("/tmp/tattle-scp-test").catch(() => {});
        },
      );

      await t.step("a failed authentication gives no event", async () => {
        const before = s.events.received.length;
        const result = await sshd.ssh({ ...user, key: wrong.key }, ["true"]);
        assert.notEqual(result.code, 0);
        await new Promise((r) => setTimeout(r, 500));
        assert.equal(s.events.received.length, before);
      });

      await t.step(
        "EventBridge hanging: logins stay bounded; flush or the sender delivers exactly once",
        async () => {
          s.events.fault = "hang";
          const timeout = 2;
          const before = s.events.received.length;
          const inline = await sshd.ssh(user, ["true"]);
          assert.equal(inline.code, 0);
          assert(
            inline.ms < 2 * (timeout + 1) * 1000,
            `inline login took ${inline.ms.toFixed(0)} ms`,
          );

          await s.setConfig({ mode: "background" });
          const background = await sshd.ssh(user, ["true"]);
          assert.equal(background.code, 0);
          assert(
            background.ms < timeout * 1000,
            `background login took ${background.ms.toFixed(0)} ms`,
          );
          console.log(
            `  hanging EventBridge: inline login ${inline.ms.toFixed(0)} ms, background ${
              background.ms.toFixed(0)
            } ms`,
          );

          s.events.fault = "none";
          const flush = await sh(standIn, ["flush", "--config", s.home.configPath], {
            check: false,
          });
          // The background login's sender may still hold the spool, waiting out its hung
          // request (up to 10 s): then flush leaves the events to it, says so, and exits 75.
          const deferred = flush.code === 75 && /\(a sender is sending\)/.test(flush.stdout);
          assert(
            flush.code === 0 || deferred,
            `exit ${flush.code}: ${flush.stderr}${flush.stdout}`,
          );
          await s.until(() => s.events.received.length >= before + 4, 20_000);
          const ids = s.events.received.slice(before).map((e) => e.detail.event_id);
          assert.equal(ids.length, 4, "two logins, two events each");
          assert.equal(new Set(ids).size, 4);
          await s.setConfig({ mode: "inline" });
        },
      );

      await t.step("login latency (figures, not assertions)", async () => {
        const measure = async () => {
          const times = [];
          for (let i = 0; i < 10; i++) times.push((await sshd.ssh(user, ["true"])).ms);
          return median(times);
        };
        await sshd.setPam(stack.replace(/^session optional pam_exec\.so quiet .*tattle.*$/m, ""));
        const none = await measure();
        await sshd.setPam(stack);
        await s.setConfig({ mode: "inline" });
        const inline = await measure();
        await s.setConfig({ mode: "background" });
        const background = await measure();
        console.log(
          `  ssh true, median of 10: no hook ${none.toFixed(0)} ms, ` +
            `tattle inline ${inline.toFixed(0)} ms, tattle background ${background.toFixed(0)} ms`,
        );
      });
    } finally {
      await cleanups.run();
      assert.equal(
        sha256(SYSTEM_PAM),
        systemPamBefore,
        "/etc/pam.d/sshd is byte-for-byte unchanged",
      );
    }
  },
});
