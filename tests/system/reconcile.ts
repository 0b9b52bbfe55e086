/**
 * System tests: reconciliation with a real sshd and real PAM, on this
 * machine's /etc/pam.d/sshd as `tattle setup --pam --disable-user-readenv`
 * leaves it. systemd is not PID 1 here, so the system's records are utmp's
 * and wtmp's (pty sessions: `ssh -tt`); /run/utmp is made as boot makes
 * it. Each session's monitor is put in a cgroup of its own, as pam_systemd
 * puts it in session-N.scope. Reconciliation runs where `tattle flush`
 * runs it (the timer's), run by root here: it runs again as tattle.
 *
 * Run with `deno task test:system` (root; CI installs the packages).
 */

import assert from "node:assert/strict";
import { fromUtmp } from "../../lib/reconcile/system.ts";
import { readUtmp, UTMP } from "../../lib/reconcile/utmp.ts";
import { scenario } from "../support/scenario.ts";
import { withSenderAccount } from "../support/sender_account.ts";
import { runTattle } from "../support/tattle.ts";
import {
  Cleanups,
  createUser,
  forThisCheckout,
  sessionScopes,
  stackFromSetup,
  startSshd,
  systemTest,
  type TestSshd,
  type TestUser,
  withUtmp,
  writeStandIn,
} from "./host.ts";

/**
 * A host with reconciliation on, its sshd's stack made by `stackOf` from
 * setup's (the stand-in in place of the binary), with session scopes.
 */
async function reconcileHost(
  cleanups: Cleanups,
  name: string,
  { stackOf = (stack: string) => stack, pidsFree }: {
    stackOf?: (stack: string) => string;
    pidsFree?: number;
  } = {},
) {
  const account = await withSenderAccount();
  cleanups.add(() => account[Symbol.asyncDispose]());
  const s = await scenario({
    mode: "background",
    timeout: 2,
    sender_idle: 0.01,
    reconcile_services: ["sshd"],
  });
  cleanups.add(() => s[Symbol.asyncDispose]());
  await s.handTo(account);
  await withUtmp(cleanups);
  const standIn = await writeStandIn(s.home.dir, s.home.access);
  const user = await createUser(`tattle-rec-${name}`, s.home.dir, cleanups);
  const setupStack = await stackFromSetup(s.home.dir, ["--disable-user-readenv"]);
  const scopes = await sessionScopes(
    s.home.dir,
    stackOf(forThisCheckout(setupStack, standIn, s.home.configPath)),
    cleanups,
    { pidsFree },
  );
  const sshd = await startSshd(s.home.dir, `sshd-tattle-rec-${name}`, scopes.stack, cleanups);
  const flush = async () => {
    const result = await runTattle(["flush", "--config", s.home.configPath], {}, s.home.access);
    assert([0, 75].includes(result.code), `flush: exit ${result.code}: ${result.stderr}`);
  };
  const events = () => s.events.received.filter((e) => e.detail.username === user.name);
  /**
   * Passes, a second apart, as the timer runs them, until `check` holds: a
   * killed sshd stays a zombie until its parent reaps it, and a pass that
   * meets it then counts it alive.
   */
  const passesUntil = async (check: () => boolean, ms = 20_000) => {
    const end = Date.now() + ms;
    while (!check() && Date.now() < end) {
      await flush();
      await s.until(check, 1000);
    }
    return check();
  };
  return { s, user, sshd, scopes, flush, passesUntil, events };
}

/** `ssh -tt user sleep SECONDS`, running until it ends (a pty session: utmp has it). */
function ptySession(sshd: TestSshd, user: TestUser, seconds: number) {
  const child = new Deno.Command("/usr/bin/ssh", {
    args: ["-tt", ...sshd.sshOptions(user), `${user.name}@127.0.0.1`, "sleep", String(seconds)],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  return { ended: child.status, kill: () => child.kill("SIGKILL") };
}

/** Whether /run/utmp lists a remote pty login of `user` now. */
async function inUtmp(user: string): Promise<boolean> {
  return fromUtmp(await readUtmp(UTMP)).some((s) => s.user === user);
}

systemTest(
  "system: a pty login whose hook cannot run is reported from utmp, found_by reconcile, once",
  async (_cleanups, t) => {
    const cases: Array<[string, Parameters<typeof reconcileHost>[2]]> = [
      // The user filled their session's task limit, leaving 3 tasks: the runtime cannot start.
      ["a session at its task limit", { pidsFree: 3 }],
      // pam_exec's exec of its program fails (as it does with E2BIG, on a stack that reads a
      // huge ~/.pam_environment): here the program is not executable.
      ["a hook whose exec fails", {
        stackOf: (stack) =>
          stack.replace("pam_exec.so quiet /usr/bin/prlimit", "pam_exec.so quiet /etc/hostname"),
      }],
    ];
    for (const [name, options] of cases) {
      await t.step(name, async () => {
        const cleanups = new Cleanups();
        try {
          const h = await reconcileHost(cleanups, name.includes("task") ? "p" : "x", options);
          const session = ptySession(h.sshd, h.user, 4);
          assert(await waitFor(() => inUtmp(h.user.name)), "utmp lists the session");
          await h.flush(); // while it runs
          assert(await h.s.until(() => h.events().length === 1, 15_000), "the open, found");
          await session.ended;
          // After it ended: wtmp has its end.
          await h.passesUntil(() => h.events().length === 2);
          await h.flush(); // and once more: nothing new
          await new Promise((r) => setTimeout(r, 500));
          const details = h.events().map((e) => e.detail);
          assert.deepEqual(details.map((d) => [d.session, d.found_by, d.close]), [
            ["opened", "reconcile", undefined],
            ["closed", "reconcile", undefined],
          ]);
          assert.equal(details[0].remote_host, "127.0.0.1", "the true remote host");
          assert.equal(details[0].username, h.user.name, "the true user");
          assert.equal(typeof details[1].duration_seconds, "number");
        } finally {
          await cleanups.run();
        }
      });
    }
  },
);

systemTest(
  "system: a session whose sshd is killed (SIGKILL to its scope) is closed lost, once",
  async (cleanups) => {
    const h = await reconcileHost(cleanups, "k");
    const session = ptySession(h.sshd, h.user, 60);
    assert(await h.s.until(() => h.events().length === 1, 15_000), "the hook's open");
    assert(await waitFor(() => inUtmp(h.user.name)));
    // What `loginctl kill-session N --signal=SIGKILL`, allowed to the session's owner, does.
    const scope = h.scopes.processes(h.user.name);
    assert(scope.length >= 2, `the session's processes: ${scope}`);
    for (const pid of scope) Deno.kill(pid, "SIGKILL");
    await session.ended;
    assert(await h.passesUntil(() => h.events().length === 2), "the close, lost");
    await h.flush();
    await h.flush();
    await new Promise((r) => setTimeout(r, 500));
    const details = h.events().map((e) => e.detail);
    assert.deepEqual(details.map((d) => [d.session, d.found_by, d.close]), [
      ["opened", undefined, undefined],
      ["closed", undefined, "lost"],
    ]);
    assert.equal(typeof details[1].duration_seconds, "number");
  },
);

systemTest(
  "system: a normal login is reported once, with reconciliation before, during and after it",
  async (cleanups) => {
    const h = await reconcileHost(cleanups, "n");
    await h.flush(); // before the login
    const session = ptySession(h.sshd, h.user, 3);
    assert(await h.s.until(() => h.events().length === 1, 15_000), "the hook's open");
    assert(await waitFor(() => inUtmp(h.user.name)));
    await h.flush(); // between open and close, utmp listing the session
    await session.ended;
    assert(await h.s.until(() => h.events().length === 2, 15_000), "the hook's close");
    await h.flush(); // after the close, wtmp holding the login and the logout
    await h.flush();
    await new Promise((r) => setTimeout(r, 500));
    const details = h.events().map((e) => e.detail);
    assert.deepEqual(details.map((d) => [d.session, d.found_by, d.close]), [
      ["opened", undefined, undefined],
      ["closed", undefined, undefined],
    ]);
  },
);

/** Polls an asynchronous check for up to 10 s. */
async function waitFor(check: () => Promise<boolean>, ms = 10_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return await check();
}
