/**
 * Who logged in, and only the logins that matter: `uid` and `groups` from
 * this machine's name service for a real user made for the test, and the
 * config's `ignore` rules, all through tattle run as pam_exec runs it under
 * the permission set.
 */

import assert from "node:assert/strict";
import { prepareSpool, spoolWrite } from "../lib/delivery/spool.ts";
import { localUser } from "./support/local_user.ts";
import { record } from "./support/records.ts";
import { notRoot } from "./support/requires.ts";
import { type Scenario, scenario } from "./support/scenario.ts";
import { nameServiceSpy, pamEnv, pamExecItems, runTattle, senderPids } from "./support/tattle.ts";

const MAKES_USERS = "it creates a user and a group with useradd and groupadd";

/** Nothing happened: no event, no spool file, no request to IMDS or EventBridge, no sender. */
function assertNothing(s: Scenario, result: { code: number; stderr: string; stdout: string }) {
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, "");
  assert.equal(result.stdout, "");
  assert.deepEqual(s.events.received, []);
  assert.equal(s.events.requestCount, 0, "no request to EventBridge");
  assert.deepEqual(s.imds.requests, [], "no request to IMDS");
  let spooled: string[] = [];
  try {
    spooled = s.spooled();
  } catch {
    // no spool directory at all: nothing was ever spooled
  }
  assert.deepEqual(spooled, [], "no spool file");
  assert.deepEqual(senderPids(s.home.configPath), [], "no sender");
}

Deno.test("a real user in a group made for the test: uid and groups in the delivered event", {
  ignore: notRoot(MAKES_USERS),
}, async (t) => {
  await using user = await localUser();
  const expected = { uid: user.uid, groups: [user.group, user.name].sort() };
  for (const mode of ["inline", "background"] as const) {
    await t.step(
      `${mode}: resolved ${mode === "inline" ? "by the hook's flush" : "by the sender"}`,
      async () => {
        await using s = await scenario({ mode });
        const result = await s.run(pamEnv({ PAM_USER: user.name }));
        assert.equal(result.code, 0, result.stderr);
        assert(await s.until(() => s.events.received.length === 1));
        const { detail } = s.events.received[0];
        assert.equal(detail.username, user.name);
        assert.deepEqual({ uid: detail.uid, groups: detail.groups }, expected);
      },
    );
  }
});

Deno.test("tattle flush, under the permission set, looks a batch of users up together", {
  ignore: notRoot(MAKES_USERS),
}, async (t) => {
  await using user = await localUser();
  // The batch's own answer, then the user-by-user fallback (tests/nss_test.ts counts the runs).
  const cases: Array<[string, string[]]> = [
    ["every user known", [user.name, "root"]],
    ["an unknown user among them", [user.name, "no-such-user-tattle"]],
  ];
  for (const [name, users] of cases) {
    await t.step(name, async () => {
      await using s = await scenario();
      await prepareSpool(s.home.spoolDir);
      for (const [n, who] of users.entries()) {
        const r = record(n);
        await spoolWrite(s.home.spoolDir, { ...r, session: { ...r.session, user: who } });
      }
      const result = await s.flush();
      assert.equal(result.code, 0, result.stderr);
      const byUser = Object.fromEntries(
        s.events.received.map(({ detail }) => [detail.username, [detail.uid, detail.groups]]),
      );
      assert.deepEqual(byUser[user.name], [user.uid, [user.group, user.name].sort()]);
      if (users[1] === "root") assert.equal(byUser.root[0], 0);
      else assert.deepEqual(byUser[users[1]], [undefined, undefined]);
    });
  }
});

Deno.test("a user the name service does not know still produces an event, without uid and groups", async () => {
  await using s = await scenario();
  const result = await s.run(pamEnv({ PAM_USER: "no-such-user-tattle" }));
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, "");
  const { detail } = s.events.received[0];
  assert.equal(detail.username, "no-such-user-tattle");
  assert(!("uid" in detail) && !("groups" in detail), JSON.stringify(detail));
});

Deno.test("ignore.users, ignore.services, ignore.groups: nothing at all, exit 0", {
  ignore: notRoot(MAKES_USERS),
}, async (t) => {
  await using user = await localUser();
  const cases = [
    { rule: { users: ["ansible"] }, env: pamEnv({ PAM_USER: "ansible" }) },
    { rule: { services: ["cron-ssh"] }, env: pamEnv({ PAM_SERVICE: "cron-ssh" }) },
    { rule: { groups: [user.group] }, env: pamEnv({ PAM_USER: user.name }) },
  ];
  for (const { rule, env } of cases) {
    for (const mode of ["inline", "background"]) {
      await t.step(`${JSON.stringify(rule)}, ${mode}`, async () => {
        await using s = await scenario({ mode, ignore: rule });
        assertNothing(s, await s.run(env));
        assertNothing(s, await s.run({ ...env, PAM_TYPE: "close_session" }));
      });
    }
  }
  await t.step("an ignored user waits for no name service lookup", async () => {
    await using s = await scenario({ ignore: { users: ["ansible"], groups: [user.group] } });
    await using nameService = await nameServiceSpy();
    const run = (user: string, type: string) =>
      runTattle(["--config", s.home.configPath], pamEnv({ PAM_USER: user, PAM_TYPE: type }), {
        ...s.home.access,
        under: nameService.under,
      });
    assertNothing(s, await run("ansible", "open_session"));
    assertNothing(s, await run("ansible", "close_session"));
    assert.deepEqual(nameService.calls(), [], "the name service was not asked");
    // The spy sees what the groups rule asks (and then the sender).
    assert.equal((await run("carol", "open_session")).code, 0);
    assert(nameService.calls().includes("-Gnz -- carol"), nameService.calls().join("; "));
  });
  await t.step("a user in none of the rules is reported", async () => {
    await using s = await scenario({ ignore: { users: ["ansible"], groups: [user.group] } });
    assert.equal((await s.run(pamEnv({ PAM_USER: "alice" }))).code, 0);
    assert.equal(s.events.received[0].detail.username, "alice");
  });
});

Deno.test("a forged PAM_USER copy is neither ignored nor reported under the forged name", {
  ignore: notRoot(MAKES_USERS),
}, async (t) => {
  await using user = await localUser();
  for (
    const [name, rule, forged] of [
      ["ignore.users", { users: ["ansible"] }, "ansible"],
      ["ignore.groups", { groups: [user.group] }, user.name],
    ] as const
  ) {
    await t.step(`${name}: ~/.pam_environment says PAM_USER=${forged}`, async () => {
      await using s = await scenario({ ignore: rule });
      const result = await s.runWithEntries([["PAM_USER", forged], ...pamExecItems()]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(s.events.received.length, 1, "reported");
      const { detail } = s.events.received[0];
      assert.equal(detail.username, "alice");
      assert.deepEqual(detail.tamper, ["PAM_USER"]);
    });
  }
});

Deno.test("a close follows its open, whatever the rules say by then", async (t) => {
  await t.step("open reported, then the user ignored: the close is reported", async () => {
    await using s = await scenario();
    assert.equal((await s.run(pamEnv({ PAM_USER: "ansible" }))).code, 0);
    await s.setConfig({ ignore: { users: ["ansible"] } });
    const close = await s.run(pamEnv({ PAM_USER: "ansible", PAM_TYPE: "close_session" }));
    assert.equal(close.code, 0, close.stderr);
    assert.deepEqual(s.events.received.map((e) => e.detail.session), ["opened", "closed"]);
    assert.equal(typeof s.events.received[1].detail.duration_seconds, "number");
  });
  await t.step("open ignored, then the rule removed: the close is not reported", async () => {
    await using s = await scenario({ ignore: { users: ["ansible"] } });
    assertNothing(s, await s.run(pamEnv({ PAM_USER: "ansible" })));
    await s.setConfig({ ignore: {} });
    assertNothing(s, await s.run(pamEnv({ PAM_USER: "ansible", PAM_TYPE: "close_session" })));
    assert.equal((await s.run(pamEnv({ PAM_USER: "ansible" }))).code, 0);
    assert.equal(s.events.received.length, 1, "the next session is reported");
  });
});

Deno.test("--dry-run says which rule ignores the session", async () => {
  await using s = await scenario({ ignore: { users: ["ansible"] } });
  const result = await s.run(pamEnv({ PAM_USER: "ansible" }), ["--dry-run"]);
  assert.equal(result.code, 0);
  assert.equal(result.stdout, "");
  assert.match(result.stderr, /no event: the session is ignored \(ignore.users has "ansible"\)/);
});
