/**
 * System tests of the trust boundary: an unprivileged user attacks the hook
 * through `~/.pam_environment` on this machine's stock sshd PAM stack (which
 * has `pam_env.so user_readenv=1`), with real sshd logins.
 *
 * - On the stack `tattle setup --pam --disable-user-readenv` produces,
 *   nothing the user writes reaches tattle.
 * - On the stack the original tool documented (its line appended by hand
 *   after user_readenv=1), PAM_* forgeries still fail, `tamper` names what
 *   was tried, and a FIFO cannot stop delivery. (Code named by LD_PRELOAD
 *   does run as root there: the reason setup refuses that stack.)
 * - A user with a limits.conf address-space limit is reported at open and
 *   at close.
 *
 * EventBridge is HTTPS here, so that the runtime really builds a TLS client
 * (that is when it would read DENO_CERT).
 */

import assert from "node:assert/strict";
import { type Scenario, scenario } from "../support/scenario.ts";
import {
  Cleanups,
  createUser,
  forThisCheckout,
  markerLibrary,
  prerequisites,
  sh,
  sha256,
  stackFromSetup,
  startSshd,
  SYSTEM_PAM,
  type TestSshd,
  type TestUser,
  writeStandIn,
  writeUserFile,
} from "./host.ts";

const missing = prerequisites();
const TIMEOUT_S = 2;
/** A login may take the hook's timeout plus process starts, never more. */
const LOGIN_BOUND_MS = TIMEOUT_S * 1000 + 1500;

/** The PAM_* forgeries and sshd-variable rewrites of the issue, in pam_env's syntax. */
const FORGERIES = [
  "PAM_USER DEFAULT=root",
  "PAM_RHOST DEFAULT=10.1.2.3",
  "PAM_SERVICE DEFAULT=cron",
  "PAM_TTY DEFAULT=/dev/console",
  "PAM_TYPE DEFAULT=auth",
  'SSH_CONNECTION DEFAULT="10.1.2.3 22 127.0.0.1 22"',
];

interface Attack {
  /** The lines of ~/.pam_environment. */
  lines: string[];
}

/** Everything of the issue at once, DENO_CERT pointing to `certTarget`. */
function everything(marker: string, certTarget: string): Attack {
  return {
    lines: [
      ...FORGERIES,
      "SSH_AUTH_INFO_0 DEFAULT=password",
      `LD_PRELOAD DEFAULT=${marker}`,
      `DENO_CERT DEFAULT=${certTarget}`,
      "NODE_DEBUG DEFAULT=http,net,tls,fetch",
      "NODE_EXTRA_CA_CERTS DEFAULT=/etc/shadow",
      "DENO_V8_FLAGS DEFAULT=--max-old-space-size=1",
    ],
  };
}

/** A test world: the fakes, the stand-in, the users, the marker and a FIFO. */
async function world(s: Scenario, cleanups: Cleanups) {
  const standIn = await writeStandIn(s.home.dir, s.home.access);
  const mallory = await createUser("tattle-mallory", s.home.dir, cleanups);
  const alice = await createUser("tattle-alice", s.home.dir, cleanups);
  const markDir = `${s.home.dir}/marks`;
  await Deno.mkdir(markDir);
  await Deno.chmod(markDir, 0o1777);
  const marker = await markerLibrary(mallory.home, markDir);
  await sh("/bin/chown", [`${mallory.name}:`, marker]);
  const fifo = `${mallory.home}/fifo`;
  await sh("/usr/bin/mkfifo", [fifo]);
  await sh("/bin/chown", [`${mallory.name}:`, fifo]);
  const fingerprint = async (user: TestUser) =>
    (await sh("/usr/bin/ssh-keygen", ["-l", "-E", "sha256", "-f", user.key])).stdout.split(" ")[1];
  const rootMarks = () => [...Deno.readDirSync(markDir)].filter((e) => e.name.startsWith("0-"));
  const attack = (a: Attack) =>
    writeUserFile(mallory, ".pam_environment", `${a.lines.join("\n")}\n`);
  /** Logs `user` in and out; returns the login's time and the two events. */
  const login = async (sshd: TestSshd, user: TestUser) => {
    const before = s.events.received.length;
    const result = await sshd.ssh(user, ["true"]);
    assert.equal(result.code, 0, `${user.name}: ${result.stderr}`);
    const arrived = await s.until(() => s.events.received.length >= before + 2, 15_000);
    const details = s.events.received.slice(before).map((e) => e.detail);
    assert(arrived, `two events for ${user.name}, got ${JSON.stringify(details)}`);
    return { ms: result.ms, details };
  };
  return { standIn, mallory, alice, marker, fifo, fingerprint, rootMarks, attack, login };
}

Deno.test({
  name: "system: on setup's stack, nothing a user puts in ~/.pam_environment reaches tattle",
  ignore: missing !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const systemPamBefore = sha256(SYSTEM_PAM);
    await using s = await scenario({ mode: "background", timeout: TIMEOUT_S }, { tls: true });
    const cleanups = new Cleanups();
    try {
      const w = await world(s, cleanups);
      const stack = forThisCheckout(
        await stackFromSetup(s.home.dir, ["--disable-user-readenv"]),
        w.standIn,
        s.home.configPath,
      );
      const sshd = await startSshd(s.home.dir, "sshd-tattle-trust", stack, cleanups);
      const malloryKey = await w.fingerprint(w.mallory);

      for (const target of [w.fifo, "/dev/zero", "/etc/shadow"]) {
        await t.step(`every attack at once, DENO_CERT=${target}`, async () => {
          await w.attack(everything(w.marker, target));
          const { ms, details } = await w.login(sshd, w.mallory);
          assert(ms < LOGIN_BOUND_MS, `the login took ${ms.toFixed(0)} ms`);
          assert.deepEqual(details.map((d) => d.session), ["opened", "closed"]);
          for (const d of details) {
            assert.equal(d.username, w.mallory.name);
            assert.equal(d.uid, w.mallory.uid, "uid from the name service");
            assert.deepEqual(d.groups, [w.mallory.name], "her groups, from the name service");
            assert.equal(d.remote_host, "127.0.0.1");
            assert.equal(d.source_ip, "127.0.0.1");
            assert.equal(d.service, sshd.service);
            assert.deepEqual(d.auth, {
              method: "publickey",
              key_type: "ssh-ed25519",
              key_fingerprint: malloryKey,
            });
            assert.equal(d.tamper, undefined, "nothing reached the hook");
          }
          assert.deepEqual(w.rootMarks(), [], "the marker library never ran as root");
        });
      }

      await t.step("a second user's events after the attack are delivered", async () => {
        const { details } = await w.login(sshd, w.alice);
        assert.deepEqual(details.map((d) => d.username), [w.alice.name, w.alice.name]);
      });
    } finally {
      await cleanups.run();
      assert.equal(sha256(SYSTEM_PAM), systemPamBefore);
    }
  },
});

Deno.test({
  name:
    "system: on a line appended after user_readenv=1, forgeries fail, tamper names them, a FIFO stops nothing",
  ignore: missing !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const systemPamBefore = sha256(SYSTEM_PAM);
    // A host that ignores root's sessions: mallory's forged PAM_USER=root must not hide hers.
    await using s = await scenario(
      { mode: "background", timeout: TIMEOUT_S, ignore: { users: ["root"] } },
      { tls: true },
    );
    const cleanups = new Cleanups();
    try {
      const w = await world(s, cleanups);
      // The way the original tool documented it: appended to the stock stack.
      const stack = `${await Deno.readTextFile(
        SYSTEM_PAM,
      )}session optional pam_exec.so ${w.standIn} --config ${s.home.configPath}\n`;
      const sshd = await startSshd(s.home.dir, "sshd-tattle-appended", stack, cleanups);
      await w.attack({
        lines: [
          ...FORGERIES,
          `LD_PRELOAD DEFAULT=${w.marker}`,
          `DENO_CERT DEFAULT=${w.fifo}`,
          "NODE_DEBUG DEFAULT=http,net,tls,fetch",
          "NODE_EXTRA_CA_CERTS DEFAULT=/etc/shadow",
        ],
      });

      await t.step(
        "every PAM_* forgery fails, PAM_USER=root hides nothing; tamper names what was tried",
        async () => {
          const { ms, details } = await w.login(sshd, w.mallory);
          assert(ms < LOGIN_BOUND_MS, `the login took ${ms.toFixed(0)} ms`);
          assert.deepEqual(details.map((d) => d.session), ["opened", "closed"]);
          for (const d of details) {
            assert.equal(d.username, w.mallory.name);
            assert.equal(d.remote_host, "127.0.0.1");
            assert.equal(d.service, sshd.service);
            assert.notEqual(d.tty, "/dev/console");
            assert.equal(d.source_ip, undefined, "the forged SSH_CONNECTION is not reported");
            assert.deepEqual(d.tamper, [
              "DENO_CERT",
              "LD_PRELOAD",
              "NODE_DEBUG",
              "NODE_EXTRA_CA_CERTS",
              "PAM_RHOST",
              "PAM_SERVICE",
              "PAM_TTY",
              "PAM_TYPE",
              "PAM_USER",
              "SSH_CONNECTION",
            ]);
          }
        },
      );

      await t.step("the FIFO stopped nothing: a second user's events are delivered", async () => {
        const { details } = await w.login(sshd, w.alice);
        assert.deepEqual(details.map((d) => d.username), [w.alice.name, w.alice.name]);
        // alice's own environment is clean, but the FIFO is still in mallory's.
        assert.equal(details[0].tamper, undefined);
      });

      await t.step("why setup refuses this stack: the user's library ran as root", () => {
        assert(w.rootMarks().length > 0, "LD_PRELOAD reached a root process");
      });
    } finally {
      await cleanups.run();
      assert.equal(sha256(SYSTEM_PAM), systemPamBefore);
    }
  },
});

Deno.test({
  name: "system: a user with a limits.conf address-space limit is reported at open and at close",
  ignore: missing !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const systemPamBefore = sha256(SYSTEM_PAM);
    await using s = await scenario({ mode: "background", timeout: TIMEOUT_S });
    const cleanups = new Cleanups();
    try {
      const standIn = await writeStandIn(s.home.dir, s.home.access);
      const limited = await createUser("tattle-limited", s.home.dir, cleanups);
      // Soft, not hard: no process here may raise a hard limit (no CAP_SYS_RESOURCE).
      // V8 aborts under either; real root's prlimit can lift both.
      const limits = "/etc/security/limits.d/tattle-test.conf";
      await Deno.writeTextFile(limits, `${limited.name} soft as 4194304\n`);
      cleanups.add(() => Deno.remove(limits));
      const stack = forThisCheckout(
        await stackFromSetup(s.home.dir, ["--disable-user-readenv"]),
        standIn,
        s.home.configPath,
      );
      const sshd = await startSshd(s.home.dir, "sshd-tattle-limits", stack, cleanups);
      const login = async () => {
        const before = s.events.received.length;
        const result = await sshd.ssh(limited, ["true"]);
        assert.equal(result.code, 0, result.stderr);
        await s.until(() => s.events.received.length >= before + 2, 10_000);
        return s.events.received.slice(before).map((e) => e.detail.session);
      };

      await t.step("setup's line (through prlimit): opened and closed", async () => {
        assert.deepEqual(await login(), ["opened", "closed"]);
      });

      await t.step(
        "the same line without prlimit loses the close (the test can fail)",
        async () => {
          const bare = stack.replace(/\/usr\/bin\/prlimit .*? -- /, "");
          assert.notEqual(bare, stack);
          await sshd.setPam(bare);
          assert.deepEqual(await login(), ["opened"], "V8 aborts under the limit at close");
        },
      );
    } finally {
      await cleanups.run();
      assert.equal(sha256(SYSTEM_PAM), systemPamBefore);
    }
  },
});
