/**
 * The sender as tattle-sender.service, started by tattle-sender.socket, as
 * processes under the permission set: the unit files' ExecStart, User= and
 * socket, with tests/support/socket_unit.py standing in for PID 1 and the
 * hooks run as on a systemd host (root only: the sender's account, a mount
 * namespace).
 */

import assert from "node:assert/strict";
import { senderSocket } from "../lib/config/paths.ts";
import { notRoot } from "./support/requires.ts";
import { scenario } from "./support/scenario.ts";
import { withSenderAccount } from "./support/sender_account.ts";
import { credentialsOf, processesWith, senderServiceHost } from "./support/sender_service.ts";
import { ON_SYSTEMD_HOST, pamEnv, runTattle } from "./support/tattle.ts";

/** A host whose sender is the service: the account, the layout, the socket. */
async function serviceHost(config: Record<string, unknown> = {}) {
  const host = await senderServiceHost(config);
  const { s, service } = host;
  try {
    /** A login's hook, as pam_exec runs it on a systemd host. */
    const hook = (user = "alice", type = "open_session") =>
      runTattle(["--config", s.home.configPath], pamEnv({ PAM_USER: user, PAM_TYPE: type }), {
        ...s.home.access,
        under: ON_SYSTEMD_HOST,
      });
    /** A login whose hook must succeed. */
    const logIn = async (user: string) => {
      const result = await hook(user);
      const socket = senderSocket({ runtime_dir: s.home.runtimeDir });
      const said = () => {
        const alive = (() => {
          try {
            return Deno.readTextFileSync(`/proc/${service.pid}/status`).includes("State");
          } catch {
            return false;
          }
        })();
        const file = (path: string) => {
          try {
            return Deno.readTextFileSync(path);
          } catch {
            return "(none)";
          }
        };
        return `${result.stderr}\nstand-in alive: ${alive}; runs: ${file(`${socket}.runs`)}; ` +
          `said: ${file(`${socket}.stderr`)}`;
      };
      assert.equal(result.code, 0, result.code === 0 ? "" : said());
    };
    return Object.assign(s, {
      account: host.account,
      service,
      hook,
      logIn,
      [Symbol.asyncDispose]: host[Symbol.asyncDispose],
    });
  } catch (error) {
    await host[Symbol.asyncDispose]();
    throw error;
  }
}

Deno.test(
  "a burst of 30 logins on a systemd host: the socket starts the service once, as tattle; each event once; the hooks start nothing",
  { ignore: notRoot("the sender's account and a mount namespace") },
  async () => {
    await using h = await serviceHost({ sender_idle: 30 });
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => h.hook(`user${i}`)));
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    assert(await h.until(() => h.deliveredIds().length >= 30, 20_000), "all delivered");
    const ids = h.deliveredIds();
    assert.equal(ids.length, 30, "each once");
    assert.equal(new Set(ids).size, 30);
    assert.equal(h.service.runs().length, 1, "one start for the burst");
    // Every tattle process of this host is the service's: no hook left one behind.
    const processes = processesWith(h.home.configPath);
    assert.deepEqual(processes.map((p) => p.ppid), [h.service.pid], JSON.stringify(processes));
    const { uids, groups, capEff } = credentialsOf(processes[0].pid);
    assert.deepEqual(uids, [h.account.uid, h.account.uid, h.account.uid, h.account.uid]);
    assert.deepEqual(groups, [], "no supplementary groups");
    assert.equal(capEff, "0000000000000000", "no capabilities");
    assert(h.events.requestCount <= 10, `${h.events.requestCount} PutEvents calls for 30 events`);
  },
);

Deno.test(
  "the service stays sender_idle seconds, takes what comes meanwhile, leaves, and the next login starts it again",
  { ignore: notRoot("the sender's account and a mount namespace") },
  async () => {
    await using h = await serviceHost({ sender_idle: 2 });
    await h.logIn("first");
    assert(await h.until(() => h.deliveredIds().length === 1, 15_000));
    await new Promise((r) => setTimeout(r, 500));
    await h.logIn("meanwhile");
    assert(await h.until(() => h.deliveredIds().length === 2, 5_000), "taken while it ran");
    assert.equal(h.service.runs().length, 1, "by the same run");
    assert(
      await h.until(() => h.service.runs()[0].code !== undefined, 10_000),
      "it left when idle",
    );
    assert.equal(h.service.runs()[0].code, 0);
    await h.logIn("later");
    assert(await h.until(() => h.deliveredIds().length === 3, 15_000), "a new run sent it");
    assert.equal(h.service.runs().length, 2);
  },
);

Deno.test("a login while the service leaves is never stranded: its knock waits in the socket", {
  ignore: notRoot("the sender's account and a mount namespace"),
}, async () => {
  // The service leaves 50 ms after the spool empties; each round's login comes at a different
  // moment of that departure, from just before it to just after.
  await using h = await serviceHost({ sender_idle: 0.05 });
  const rounds = 16;
  for (let round = 0; round < rounds; round++) {
    await h.logIn(`r${round}`);
    assert(
      await h.until(() => h.deliveredIds().length === round + 1, 15_000),
      `round ${round}: ${h.deliveredIds().length} delivered; spooled: ${h.spooled().join(", ")}`,
    );
    await new Promise((r) => setTimeout(r, 30 + (round % 8) * 15));
  }
  assert.equal(new Set(h.deliveredIds()).size, rounds, "each once");
  console.log(`  ${rounds} logins, ${h.service.runs().length} runs of the service`);
});

Deno.test(
  "without systemd a hook starts the sender as the spool's owner (tattle): no capabilities, no groups",
  { ignore: notRoot("the sender's account") },
  async () => {
    await using account = await withSenderAccount();
    await using s = await scenario({ mode: "background", sender_idle: 5 });
    await s.handTo(account);
    assert.equal((await s.run()).code, 0);
    assert(await s.until(() => s.deliveredIds().length === 1, 15_000), "delivered");
    const [sender] = processesWith(s.home.configPath);
    assert(sender, "the sender stays sender_idle seconds");
    const { uids, groups, capEff } = credentialsOf(sender.pid);
    assert.deepEqual(uids, [account.uid, account.uid, account.uid, account.uid]);
    assert.deepEqual(groups, [], "supplementary groups cleared");
    assert.equal(capEff, "0000000000000000");
    Deno.kill(sender.pid, "SIGTERM");
  },
);
