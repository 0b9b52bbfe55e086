/**
 * What ships is what is tested: tattle run as production runs it (the
 * permission set, a pam_exec environment) against what production does to
 * it: /proc denied, syslog at its default path, clocks that are off or that
 * step, disks that stall, many logins at once, and a service that rejects
 * a request or answers forever.
 */

import assert from "node:assert/strict";
import { scenario, TIMEOUT_S } from "./support/scenario.ts";
import { lacks, notRoot } from "./support/requires.ts";
import { denoRunArgs, pamEnv, senderPids, sharedCacheDir } from "./support/tattle.ts";

const BURST = new URL("./support/burst.py", import.meta.url).pathname;
const FAKETIME = `/usr/lib/${Deno.build.arch}-linux-gnu/faketime/libfaketimeMT.so.1`;

/** Runs the hook through tests/support/burst.py: its wall time and CPU (user + system). */
async function measured(argv: string[], env: Record<string, string>) {
  const out = await new Deno.Command("/usr/bin/python3", {
    args: [BURST, JSON.stringify({ argv, envs: [env] })],
    signal: AbortSignal.timeout(60_000),
  }).output();
  const { hooks } = JSON.parse(new TextDecoder().decode(out.stdout));
  return hooks[0] as { wall: number; cpu: number; code: number };
}

Deno.test("the identity is cached under the permission set: the next login asks IMDS only for credentials", async () => {
  await using s = await scenario();
  assert.equal((await s.run()).code, 0);
  assert(Deno.statSync(`${s.home.stateDir}/identity.json`).isFile, "the cache was written");
  const before = s.imds.requests.length;
  assert.equal((await s.run()).code, 0);
  const second = s.imds.requests.slice(before);
  assert(!second.some((r) => r.includes("instance-identity")), second.join(", "));
  assert.equal(s.events.received[1].detail.instance_id, s.events.received[0].detail.instance_id);
});

const DEV_LOG = "/run/systemd/journal/dev-log";
/** A real journald's socket is there: the test binds that path only where it is free. */
const realJournald = (() => {
  try {
    Deno.lstatSync(DEV_LOG);
    console.log(
      `ignored: ${DEV_LOG} exists here (a real journald), so the syslog test cannot bind it`,
    );
    return true;
  } catch {
    return false;
  }
})();

Deno.test("syslog works at its default path under the permission set", {
  ignore: realJournald || notRoot("the test binds journald's socket under /run/systemd"),
}, async () => {
  const path = DEV_LOG;
  await Deno.mkdir("/run/systemd/journal", { recursive: true });
  const socket = Deno.listenDatagram({ transport: "unixpacket", path });
  try {
    await using s = await scenario(); // syslog_socket not set: the default
    s.events.fault = "500";
    const result = await s.run();
    assert.equal(result.code, 75);
    assert.equal(result.stderr.trimEnd().split("\n").length, 1, "no syslog warning");
    const [data] = await socket.receive();
    assert.match(new TextDecoder().decode(data), /^<83>.* tattle\[\d+\]: error: event spooled at /);
  } finally {
    socket.close();
    await Deno.remove(path).catch(() => {});
  }
});

Deno.test("a host clock 10 minutes off: the SDK corrects it from the service's Date, within the deadline", async (t) => {
  await t.step("inline hook", async () => {
    await using s = await scenario();
    s.events.clockOffsetMs = 10 * 60_000;
    const result = await s.run();
    assert.equal(result.code, 0, result.stderr);
    assert(result.ms < TIMEOUT_S * 1000 + 500, `${result.ms.toFixed(0)} ms`);
    assert.equal(s.events.received.length, 1);
    assert(s.events.rejected.some((r) => r.includes("signature expired")), "it was skewed");
  });
  await t.step("the sender", async () => {
    await using s = await scenario({ mode: "background" });
    s.events.clockOffsetMs = -10 * 60_000;
    assert.equal((await s.run()).code, 0);
    assert(await s.until(() => s.events.received.length === 1, 10_000), "delivered");
  });
});

Deno.test(
  "a backward step of the wall clock during PutEvents: the hook ends on time, without spinning",
  { ignore: lacks([FAKETIME], "apt-get install libfaketime") },
  async () => {
    await using s = await scenario();
    s.events.fault = "hang";
    const clock = `${s.home.dir}/clock`;
    await Deno.writeTextFile(clock, "+0");
    setTimeout(() => Deno.writeTextFileSync(clock, "-3600"), 400); // while the call hangs
    const hook = await measured([
      Deno.execPath(),
      ...denoRunArgs(s.home.access),
      "--config",
      s.home.configPath,
    ], {
      ...pamEnv(),
      DENO_DIR: await sharedCacheDir(),
      LD_PRELOAD: FAKETIME,
      FAKETIME_TIMESTAMP_FILE: clock,
      FAKETIME_NO_CACHE: "1",
      FAKETIME_DONT_FAKE_MONOTONIC: "1",
    });
    assert.equal(hook.code, 75);
    assert(hook.wall < TIMEOUT_S + 0.5, `ended after ${hook.wall.toFixed(2)} s`);
    assert(
      hook.cpu < hook.wall * 0.6,
      `${hook.cpu.toFixed(2)} s of CPU in ${hook.wall.toFixed(2)} s: it spun`,
    );
    assert.equal(s.spooled().length, 1, "the event waits in the spool");
  },
);

/** Compiles `code` (C) into an LD_PRELOAD library in `dir`. */
async function preloadLibrary(dir: string, name: string, code: string): Promise<string> {
  const source = `${dir}/${name}.c`;
  const library = `${dir}/${name}.so`;
  await Deno.writeTextFile(
    source,
    `#define _GNU_SOURCE\n#include <dlfcn.h>\n#include <string.h>\n#include <unistd.h>\n${code}`,
  );
  const out = await new Deno.Command("/usr/bin/gcc", {
    args: ["-shared", "-fPIC", "-o", library, source, "-ldl"],
  }).output();
  if (out.code !== 0) throw new Error(new TextDecoder().decode(out.stderr));
  return library;
}

/** A library that makes every fsync take `seconds` longer. */
function slowFsync(dir: string, seconds: number): Promise<string> {
  return preloadLibrary(
    dir,
    "slow_fsync",
    `int fsync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  sleep(${seconds});
  return real(fd);
}
`,
  );
}

/** A library that makes every rename into a `sessions` directory hang for `seconds`. */
function stalledSessions(dir: string, seconds: number): Promise<string> {
  return preloadLibrary(
    dir,
    "stalled_sessions",
    `static void stall(const char *to) { if (strstr(to, "/sessions/")) sleep(${seconds}); }
int rename(const char *from, const char *to) {
  static int (*real)(const char *, const char *);
  if (!real) real = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
  stall(to);
  return real(from, to);
}
int renameat(int a, const char *from, int b, const char *to) {
  static int (*real)(int, const char *, int, const char *);
  if (!real) real = (int (*)(int, const char *, int, const char *))dlsym(RTLD_NEXT, "renameat");
  stall(to);
  return real(a, from, b, to);
}
int renameat2(int a, const char *from, int b, const char *to, unsigned flags) {
  static int (*real)(int, const char *, int, const char *, unsigned);
  if (!real) real = (int (*)(int, const char *, int, const char *, unsigned))dlsym(RTLD_NEXT, "renameat2");
  stall(to);
  return real(a, from, b, to, flags);
}
`,
  );
}

Deno.test("a disk that stalls: the event is spooled, or sent directly, never lost silently", {
  ignore: lacks(["/usr/bin/gcc"], "apt-get install gcc"),
}, async (t) => {
  const slowed = (library: string) => ({ ...pamEnv(), LD_PRELOAD: library });
  {
    // Under `deno run`, loading the SDK the first time after a change writes Deno's own
    // caches (SQLite, which fsyncs): warm them, so that only tattle's writes are slowed.
    await using warm = await scenario();
    assert.equal((await warm.run()).code, 0);
  }
  await t.step(
    "fsync 2 s slower (two per write): within the write's bound, spooled then sent",
    async () => {
      // The network has time: the disk is under test. (With 5 s, one CI run in three here
      // timed out the send after the 4 s write, on a loaded machine.)
      await using s = await scenario({ timeout: 15 });
      const run = await s.run(slowed(await slowFsync(s.home.dir, 2)));
      assert.equal(run.code, 0, run.stderr);
      assert.equal(s.deliveredIds().length, 1);
    },
  );
  await t.step("fsync 12 s slower: past the write's bound, sent directly and said", async () => {
    await using s = await scenario({ timeout: 5 }); // the network has time: the disk is under test
    const run = await s.run(slowed(await slowFsync(s.home.dir, 12)));
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stderr,
      /warning: spool .* is not usable: writing took more than 10 s; the event was sent directly/,
    );
    assert.equal(s.deliveredIds().length, 1);
    assert.deepEqual(s.spooled(), [], "and not spooled as well: it will not go twice");
  });
  await t.step(
    "the state directory stalls (a session record hangs 30 s): reported within its bound, without it",
    async () => {
      await using s = await scenario({ timeout: 5 });
      const started = performance.now();
      const run = await s.run(slowed(await stalledSessions(s.home.dir, 30)));
      const seconds = (performance.now() - started) / 1000;
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, /warning: session record in .*\/sessions: it took more than 10 s/);
      assert(seconds >= 9.5 && seconds < 10 + 5 + 2, `the hook took ${seconds.toFixed(1)} s`);
      assert.equal(s.deliveredIds().length, 1, "the open is reported");
    },
  );
});

Deno.test("100 opens and 100 closes at once, spool on disk: every event delivered, each once", async () => {
  await using s = await scenario({ mode: "background", timeout: 2 });
  const results = await Promise.all(
    Array.from(
      { length: 200 },
      (_, i) =>
        s.run(pamEnv({ PAM_USER: `user${i}`, PAM_TYPE: i % 2 ? "close_session" : "open_session" })),
    ),
  );
  const failed = results.filter((r) => r.code !== 0);
  assert.deepEqual(failed.map((r) => r.stderr), [], "every hook exited 0");
  assert(
    await s.until(() => s.deliveredIds().length >= 200, 60_000),
    `${s.deliveredIds().length} delivered`,
  );
  await s.until(() => senderPids(s.home.configPath).length === 0, 10_000);
  const ids = s.deliveredIds();
  assert.equal(ids.length, 200);
  assert.equal(new Set(ids).size, 200);
  assert.deepEqual(s.spooled(), []);
});

Deno.test("a request EventBridge refuses as a whole (a bad event bus) keeps the event and says what to fix", async () => {
  await using s = await scenario();
  s.events.fault = "validation";
  const result = await s.run();
  assert.equal(result.code, 75);
  assert.match(
    result.stderr,
    /ValidationException: .*check "event_bus", "source" and "detail_type" in the config/,
  );
  assert.equal(s.spooled().length, 1);
  assert.deepEqual([...Deno.readDirSync(`${s.home.spoolDir}/failed`)], []);
});

Deno.test("an IMDS answer that never ends is cut, and the hook ends on time", async () => {
  await using s = await scenario();
  s.imds.fault = "endless";
  const result = await s.run();
  assert.equal(result.code, 75);
  assert.match(result.stderr, /IMDS at .* answered with more than 65536 bytes/);
  assert(result.ms < TIMEOUT_S * 1000 + 500, `${result.ms.toFixed(0)} ms`);
});

Deno.test("a sender started under deno run does no update check (no DNS lookup)", {
  ignore: lacks(["/usr/bin/strace"], "apt-get install strace"),
}, async () => {
  await using s = await scenario({ mode: "background" });
  const trace = `${s.home.dir}/trace`;
  const out = await new Deno.Command("/usr/bin/strace", {
    args: [
      "-f",
      "-e",
      "trace=connect",
      "-o",
      trace,
      Deno.execPath(),
      ...denoRunArgs(s.home.access),
      "--config",
      s.home.configPath,
    ],
    // The hook as the system tests' stand-in starts it; the sender gets tattle's own environment.
    env: { ...pamEnv(), DENO_DIR: await sharedCacheDir(), DENO_NO_UPDATE_CHECK: "1" },
    clearEnv: true,
    stdin: "null",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  // strace follows the sender: wait for it to leave (it lingers), then read the trace.
  assert(await s.until(() => s.deliveredIds().length === 1, 10_000));
  await s.until(() => senderPids(s.home.configPath).length === 0, 15_000);
  await new Promise((r) => setTimeout(r, 200));
  const dns = (await Deno.readTextFile(trace)).split("\n").filter((l) => l.includes("htons(53)"));
  assert.deepEqual(dns, [], "no connection to a DNS server");
});
