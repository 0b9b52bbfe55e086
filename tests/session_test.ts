import assert from "node:assert/strict";
import { cleanStaleSessions, processStartTime, recordOpen, takeDuration } from "../lib/sessions.ts";
import { scenario } from "./support/scenario.ts";
import { cacheDir, denoRunArgs, pamEnv } from "./support/tattle.ts";

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
  assert.deepEqual([...Deno.readDirSync(`${s.home.stateDir}/sessions`)], [], "record removed");
  const again = await s.run(pamEnv({ PAM_TYPE: "close_session" }));
  assert.equal(again.code, 0);
  assert.equal(s.events.received[2].detail.duration_seconds, undefined);
});

Deno.test("records of processes that are gone or reused are cleaned up", async () => {
  const dir = await Deno.makeTempDir();
  const me = await processStartTime(Deno.pid);
  assert.match(me ?? "", /^\d+$/);
  await recordOpen(dir, Deno.pid, me, new Date());
  await recordOpen(dir, 2 ** 22 + 7, "123", new Date()); // beyond pid_max: gone
  await recordOpen(dir, Deno.pid === 1 ? 2 : 1, "not-its-start-time", new Date()); // reused
  assert.equal(await cleanStaleSessions(dir), 2);
  assert.equal(await takeDuration(dir, Deno.pid, "other", new Date()), undefined, "pid reuse");
  await Deno.remove(dir, { recursive: true });
});

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
    env: { ...pamEnv(), DENO_DIR: await cacheDir() },
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
