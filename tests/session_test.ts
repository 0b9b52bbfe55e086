import assert from "node:assert/strict";
import { notRoot } from "./support/requires.ts";
import type { Session } from "../lib/capture/pam.ts";
import { recordOpen, takeOpen } from "../lib/capture/sessions.ts";
import keys from "./fixtures/ssh_keys.json" with { type: "json" };
import { scenario } from "./support/scenario.ts";
import { denoRunArgs, pamEnv, runTattle, sharedCacheDir } from "./support/tattle.ts";

Deno.test("a close carries the seconds since the open of the same sshd process", async () => {
  // Both hook runs are children of this test process, as both are of sshd's monitor.
  await using s = await scenario();
  assert.equal((await s.run(pamEnv({ PAM_TYPE: "open_session" }))).code, 0);
  await new Promise((r) => setTimeout(r, 1100));
  const close = await s.run(pamEnv({ PAM_TYPE: "close_session" }));
  assert.equal(close.code, 0, close.stderr);
  const [opened, closed] = s.events.received.map((e) => e.detail);
  assert.equal(opened.duration_seconds, undefined);
  assert.equal(typeof closed.duration_seconds, "number");
  assert(Number(closed.duration_seconds) >= 1, String(closed.duration_seconds));
  assert.deepEqual([...Deno.readDirSync(`${s.home.runtimeDir}/sessions`)], [], "record removed");
  const again = await s.run(pamEnv({ PAM_TYPE: "close_session" }));
  assert.equal(again.code, 0);
  assert.equal(s.events.received[2].detail.duration_seconds, undefined);
});

Deno.test("a close reports the address and method recorded at its open, and flags a change", async () => {
  await using s = await scenario();
  const [key, other] = keys.keys;
  const opened = pamEnv({
    PAM_TYPE: "open_session",
    PAM_RHOST: "203.0.113.9",
    SSH_CONNECTION: "203.0.113.9 50022 10.0.0.12 22",
    SSH_AUTH_INFO_0: `publickey ${key.key_type} ${key.blob}\n`,
  });
  assert.equal((await s.run(opened)).code, 0);
  // Between open and close, pam_env rewrote both variables (they persist in the PAM environment).
  const closed = await s.run({
    ...opened,
    PAM_TYPE: "close_session",
    SSH_CONNECTION: "203.0.113.9 1 10.0.0.12 22",
    SSH_AUTH_INFO_0: `publickey ${other.key_type} ${other.blob}\n`,
  });
  assert.equal(closed.code, 0, closed.stderr);
  const [open, close] = s.events.received.map((e) => e.detail);
  assert.equal(open.tamper, undefined);
  for (const d of [open, close]) {
    assert.equal(d.source_port, 50022);
    assert.equal((d.auth as { key_fingerprint: string }).key_fingerprint, key.fingerprint);
  }
  assert.deepEqual(close.tamper, ["SSH_AUTH_INFO_0", "SSH_CONNECTION"]);
});

Deno.test("an open record of another user (an earlier process with the same pid) is not used", async () => {
  const dir = await Deno.makeTempDir();
  const session = (user: string): Session => ({
    state: "opened",
    user,
    rhost: "",
    service: "sshd",
    tty: "ssh",
    truncated: [],
    connection: { clientIp: "198.51.100.1", clientPort: 1, serverIp: "10.0.0.1", serverPort: 22 },
  });
  await recordOpen(dir, 4242, session("alice"), new Date());
  assert.equal(await takeOpen(dir, 4242, session("mallory")), undefined);
  assert.deepEqual(await Array.fromAsync(Deno.readDirSync(`${dir}/sessions`)), [], "removed");
  await recordOpen(dir, 4242, session("alice"), new Date());
  assert.equal((await takeOpen(dir, 4242, session("alice")))?.connection?.clientPort, 1);
  await Deno.remove(dir, { recursive: true });
});

/** Session records are root's: only tattle run as root removes them. */
const notRootToClean = notRoot("session records are root's: only tattle run as root removes them");

for (const command of ["flush", "sender"]) {
  Deno.test(
    `tattle ${command}, under the permission set, removes the records of sshd processes that are gone`,
    {
      ignore: notRootToClean,
    },
    async () => {
      await using s = await scenario();
      const live = Deno.pid;
      const gone = 4_194_000; // above any pid this machine hands out
      for (const pid of [live, gone]) {
        await recordOpen(s.home.runtimeDir, pid, {
          state: "opened",
          user: "alice",
          rhost: "",
          service: "sshd",
          tty: "ssh",
          truncated: [],
        }, new Date());
      }
      await Deno.writeTextFile(`${s.home.runtimeDir}/sessions/garbage.json.tmp`, "{");
      await Deno.utime(`${s.home.runtimeDir}/sessions/garbage.json.tmp`, 0, 0);
      // The sender cleans once the spool is empty (here at once), then leaves when idle.
      const result = command === "flush" ? await s.flush() : await runTattle(
        ["sender", "--sender-idle=0.01", "--config", s.home.configPath],
        {},
        s.home.access,
      );
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(
        [...Deno.readDirSync(`${s.home.runtimeDir}/sessions`)].map((e) => e.name),
        [`${live}.json`],
      );
    },
  );
}

Deno.test("run by hand from a terminal, the hook reports the real outcome (inline)", async () => {
  await using s = await scenario({ mode: "background" });
  s.events.fault = "500";
  const command = [
    Deno.execPath(),
    ...denoRunArgs(s.home.access),
    "--config",
    s.home.configPath,
  ].map((a) => `'${a}'`).join(" ");
  // script(1) gives the hook a terminal for stdin, stdout and stderr.
  const out = await new Deno.Command("/usr/bin/script", {
    args: ["-qec", `${command}; echo "exit=$?"`, "/dev/null"],
    env: { ...pamEnv(), DENO_DIR: await sharedCacheDir() },
    clearEnv: true,
    stdin: "null",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.match(
    text,
    /tattle: error: event spooled at .* for later delivery: .*InternalException|did not answer/,
  );
  assert.match(text, /exit=75/);
});
