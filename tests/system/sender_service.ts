/**
 * System tests: the sender out of the login's reach, with a real sshd whose
 * stack is this machine's /etc/pam.d/sshd as `tattle setup --pam
 * --disable-user-readenv` leaves it, and the sender's account made by
 * systemd-sysusers from contrib/.
 *
 * - On a systemd host (sshd runs where /run/systemd/system exists), the
 *   sender is tattle-sender.service, started by its socket as the units
 *   say (tests/support/sender_service.ts stands in for PID 1).
 * - Without systemd, the hook starts the sender, as tattle.
 *
 * Run with `deno task test:system` (root; CI installs the packages).
 */

import assert from "node:assert/strict";
import { senderSocket } from "../../lib/config/paths.ts";
import { scenario } from "../support/scenario.ts";
import { withSenderAccount } from "../support/sender_account.ts";
import { credentialsOf, processesWith, senderService } from "../support/sender_service.ts";
import { ON_SYSTEMD_HOST } from "../support/tattle.ts";
import {
  createUser,
  forThisCheckout,
  sessionScopes,
  stackFromSetup,
  startSshd,
  systemTest,
  writeStandIn,
} from "./host.ts";

systemTest(
  "system: on a systemd host the sender is tattle-sender.service, as tattle, out of the session's reach",
  async (cleanups, t) => {
    const account = await withSenderAccount();
    cleanups.add(() => account[Symbol.asyncDispose]());
    const s = await scenario({ mode: "background", timeout: 2, sender_idle: 120 });
    cleanups.add(() => s[Symbol.asyncDispose]());
    await s.handTo(account);
    const standIn = await writeStandIn(s.home.dir, s.home.access);
    const service = await senderService({
      socketPath: senderSocket({ runtime_dir: s.home.runtimeDir }),
      standIn,
      configPath: s.home.configPath,
      account,
    });
    cleanups.add(() => service[Symbol.asyncDispose]());
    const alice = await createUser("tattle-svc-alice", s.home.dir, cleanups);
    const bob = await createUser("tattle-svc-bob", s.home.dir, cleanups);
    const scopes = await sessionScopes(
      s.home.dir,
      forThisCheckout(
        await stackFromSetup(s.home.dir, ["--disable-user-readenv"]),
        standIn,
        s.home.configPath,
      ),
      cleanups,
    );
    const sshd = await startSshd(
      s.home.dir,
      "sshd-tattle-svc",
      scopes.stack,
      cleanups,
      ON_SYSTEMD_HOST,
    );
    const sessions = (user: string, count: number) =>
      s.until(
        () => s.events.received.filter((e) => e.detail.username === user).length >= count,
        20_000,
      );

    await t.step("a login's events arrive, sent by the service its socket started", async () => {
      const result = await sshd.ssh(alice, ["true"]);
      assert.equal(result.code, 0, result.stderr);
      assert(await sessions(alice.name, 2), "opened and closed delivered");
      assert.deepEqual(s.events.received.map((e) => e.detail.session), ["opened", "closed"]);
      assert.equal(service.runs().length, 1);
    });

    await t.step("the hooks left no process behind; the sender runs as tattle, not root", () => {
      const processes = processesWith(s.home.configPath);
      assert.deepEqual(processes.map((p) => p.ppid), [service.pid], JSON.stringify(processes));
      const { uids, groups, capEff } = credentialsOf(processes[0].pid);
      assert.notEqual(uids[0], 0);
      assert.deepEqual(uids, [account.uid, account.uid, account.uid, account.uid]);
      assert.deepEqual(groups, []);
      assert.equal(capEff, "0000000000000000");
    });

    await t.step(
      "the session's owner cannot signal it; stopping every process of the session leaves it working",
      async () => {
        const [sender] = processesWith(s.home.configPath);
        const denied = await sshd.ssh(alice, ["kill", "-STOP", String(sender.pid)]);
        assert.notEqual(denied.code, 0);
        assert.match(denied.stderr, /Operation not permitted/);
        // What `loginctl kill-session N --signal=SIGSTOP` does for the session's owner:
        // every process of a live session's scope stopped.
        const live = new Deno.Command("/usr/bin/ssh", {
          args: [...sshd.sshOptions(alice), `${alice.name}@127.0.0.1`, "sleep", "60"],
          stdin: "null",
          stdout: "null",
          stderr: "null",
        }).spawn();
        let stopped: number[] = [];
        try {
          assert(await s.until(() => scopes.processes(alice.name).length >= 2, 10_000));
          stopped = scopes.processes(alice.name);
          assert(!stopped.includes(sender.pid), "the sender is not the session's");
          for (const pid of stopped) Deno.kill(pid, "SIGSTOP");
          const result = await sshd.ssh(bob, ["true"]);
          assert.equal(result.code, 0, result.stderr);
          assert(await sessions(bob.name, 2), "another user's events still delivered");
          const state = Deno.readTextFileSync(`/proc/${sender.pid}/stat`).split(") ")[1][0];
          assert.notEqual(state, "T", "the sender is not stopped");
        } finally {
          for (const pid of stopped) Deno.kill(pid, "SIGCONT");
          live.kill("SIGTERM");
          await live.status;
        }
        assert.equal(service.runs().length, 1, "one run of the service did it all");
      },
    );
  },
);

systemTest("system: without systemd, the hook starts the sender as tattle", async (cleanups) => {
  const account = await withSenderAccount();
  cleanups.add(() => account[Symbol.asyncDispose]());
  const s = await scenario({ mode: "background", timeout: 2, sender_idle: 5 });
  cleanups.add(() => s[Symbol.asyncDispose]());
  await s.handTo(account);
  const standIn = await writeStandIn(s.home.dir, s.home.access);
  const carol = await createUser("tattle-svc-carol", s.home.dir, cleanups);
  const stack = forThisCheckout(
    await stackFromSetup(s.home.dir, ["--disable-user-readenv"]),
    standIn,
    s.home.configPath,
  );
  const sshd = await startSshd(s.home.dir, "sshd-tattle-nosd", stack, cleanups);
  const result = await sshd.ssh(carol, ["true"]);
  assert.equal(result.code, 0, result.stderr);
  assert(await s.until(() => s.events.received.length >= 2, 20_000), "delivered");
  const [sender] = processesWith(s.home.configPath);
  assert(sender, "the sender stays sender_idle seconds");
  assert.deepEqual(credentialsOf(sender.pid).uids, Array(4).fill(account.uid));
  assert.deepEqual(credentialsOf(sender.pid).groups, []);
  Deno.kill(sender.pid, "SIGTERM");
});
