/**
 * `deno task bench`: what a login costs, alone and in bursts. It reports and
 * asserts nothing (speed goals are not tests).
 *
 * tattle runs as `deno run main.ts` with the binary's permission set (or the
 * binary TATTLE_BIN names), in background mode against the local fakes, with
 * role credentials from the fake IMDS. When the original Go tool is present
 * (../shared/peer, root, `ip netns`), it is measured in the same run inside
 * its own namespace with its own fakes, taking turns with tattle login by
 * login and burst by burst (this VM's speed drifts by a tenth or more over
 * minutes), and the table shows the ratios; without it, tattle's figures
 * alone. BENCH_RUNS sets the lone logins (11), BENCH_BURST_ROUNDS the
 * rounds of bursts of 50 (3; one fewer of 100 + 100).
 *
 * Every process a burst leaves behind (the detached sender) is counted:
 * tests/support/burst.py is a child subreaper.
 */

import { scenario } from "../tests/support/scenario.ts";
import {
  denoRunArgs,
  pamEnv,
  procStat,
  senderPids,
  sharedCacheDir,
  TATTLE_BIN,
  watchSenders,
} from "../tests/support/tattle.ts";

const LONE_RUNS = Number(Deno.env.get("BENCH_RUNS") ?? 11);
/**
 * The users who log in: this machine's accounts, in turn. As in production
 * every one exists (sshd authenticated them), so the sender's name service
 * lookups answer as they would on a host.
 */
const ACCOUNTS = Deno.readTextFileSync("/etc/passwd").split("\n").filter((line) => line)
  .map((line) => line.split(":")[0]);
const BURST = new URL("../tests/support/burst.py", import.meta.url).pathname;
const PEER = new URL("../../shared/peer/", import.meta.url).pathname;

interface Hook {
  wall: number;
  cpu: number;
  rss_kib: number;
  code: number;
  began: number;
  /** When it was started, in seconds since the epoch. */
  began_at: number;
}
interface Burst {
  hooks: Hook[];
  hooks_done_s: number;
  all_done_s: number;
  others: number;
  others_cpu_s: number;
}

async function burst(argv: string[], envs: Array<Record<string, string>>): Promise<Burst> {
  const out = await new Deno.Command("/usr/bin/python3", {
    args: [BURST, JSON.stringify({ argv, envs })],
    stderr: "inherit",
  }).output();
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const ms = (seconds: number) => seconds * 1000;

/** tattle under `deno run` (or TATTLE_BIN) against a fresh scenario with `config`. */
async function tattleRig(config: Record<string, unknown> = {}) {
  const s = await scenario({ mode: "background", timeout: 2, ...config });
  const argv = TATTLE_BIN
    ? [TATTLE_BIN, "--config", s.home.configPath]
    : [Deno.execPath(), ...denoRunArgs(s.home.access), "--config", s.home.configPath];
  // Under `deno run`, what the launcher sets for deno itself (tests/system/host.ts).
  const launcher: Record<string, string> = TATTLE_BIN
    ? {}
    : { DENO_DIR: await sharedCacheDir(), DENO_NO_UPDATE_CHECK: "1" };
  const envs = (
    n: number,
    type = (i: number) => (i % 2 ? "close_session" : "open_session"),
    user = (i: number) => ACCOUNTS[i % ACCOUNTS.length],
  ) =>
    Array.from({ length: n }, (_, i) => ({
      ...pamEnv({ PAM_USER: user(i), PAM_TYPE: type(i) }),
      ...launcher,
    }));
  // Warm the identity cache and Deno's caches, as on a running host.
  await burst(argv, envs(1));
  return { s, argv, envs };
}

type TattleRig = Awaited<ReturnType<typeof tattleRig>>;

/** One lone login, waited for until its sender has left. */
async function loneLogin(rig: TattleRig, user?: string) {
  const { s, argv, envs } = rig;
  const before = s.events.received.length;
  const result = await burst(argv, envs(1, () => "open_session", user ? () => user : undefined));
  await s.until(() => s.events.received.length > before, 10_000);
  const hook = result.hooks[0];
  return {
    wall: ms(hook.wall),
    cpu: ms(hook.cpu),
    rss: hook.rss_kib / 1024,
    perLogin: ms(hook.cpu + result.others_cpu_s),
    // From the hook's start to its event's arrival, both as the processes
    // that saw them tell it: no launcher start-up or polling in between.
    endToEnd: s.events.received[before].arrivedAt - ms(hook.began_at),
  };
}

/** Medians of {@link loneLogin}'s figures. */
function medians(lone: Array<Awaited<ReturnType<typeof loneLogin>>>) {
  return {
    hookWall: median(lone.map((l) => l.wall)),
    hookCpu: median(lone.map((l) => l.cpu)),
    hookRss: median(lone.map((l) => l.rss)),
    perLogin: median(lone.map((l) => l.perLogin)),
    endToEnd: median(lone.map((l) => l.endToEnd)),
  };
}

/** {@link LONE_RUNS} lone logins one after another. */
async function loneLogins(rig: TattleRig, user?: string) {
  const lone = [];
  for (let i = 0; i < LONE_RUNS; i++) lone.push(await loneLogin(rig, user));
  return medians(lone);
}

/** `n` logins at once (opens and closes in turn), waited for until every event arrived. */
async function tattleBurst(rig: TattleRig, n: number) {
  const { s, argv, envs } = rig;
  const before = s.events.received.length;
  const watch = watchSenders(s.home.configPath);
  const result = await burst(argv, envs(n));
  await s.until(() => s.events.received.length >= before + n, 60_000);
  const most = watch.stop().mostAtOnce;
  const arrivedAt = s.events.received.slice(before).map((e) => e.arrivedAt);
  const ids = s.events.received.slice(before).map((e) => e.detail.event_id);
  return {
    hooksDone: ms(result.hooks_done_s),
    // From the first hook's start to the last event's arrival.
    arrived: Math.max(...arrivedAt) - ms(Math.min(...result.hooks.map((h) => h.began_at))),
    cpuPerLogin: ms((cpuOf(result) + result.others_cpu_s) / n),
    slowest: slowestOf(result),
    senders: most,
    delivered: ids.length,
    once: new Set(ids).size === ids.length,
    failed: result.hooks.filter((h) => h.code !== 0).length,
  };
}

const cpuOf = (b: Burst) => b.hooks.reduce((sum, h) => sum + h.cpu, 0);
const slowestOf = (b: Burst) => Math.max(...b.hooks.map((h) => ms(h.wall)));

/**
 * Where `uid` and `groups` cost least: looked up by the sender (the
 * default), or by the hook (what an `ignore.groups` rule makes it do).
 */
async function measureResolution() {
  const figures = [];
  for (const config of [{}, { ignore: { groups: ["tattle-bench-no-such-group"] } }]) {
    const rig = await tattleRig(config);
    await using _ = rig.s;
    figures.push(await loneLogins(rig, "root"));
  }
  const [sender, hook] = figures;
  return { sender, hook };
}

/** A process's resident memory (MiB) and CPU so far (ms), from /proc. */
function processFigures(pid: number) {
  const rss = /VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`))!;
  const [utime, stime] = procStat(pid).slice(11, 13);
  const tick = 1000 / 100; // CLK_TCK
  return { rssMiB: Number(rss[1]) / 1024, cpuMs: (Number(utime) + Number(stime)) * tick };
}

/**
 * The resident sender's trade-off: the memory it keeps for good, against
 * the CPU a burst of logins costs with it and without it, and a lone
 * login's latency.
 */
async function measureResident() {
  const rig = await tattleRig();
  await using s = rig.s;
  await using resident = await s.startSender(["--sender-idle=0"]);
  await s.until(() => senderPids(s.home.configPath).length === 1, 10_000);
  await new Promise((r) => setTimeout(r, 2000));
  const idle = processFigures(resident.pid);
  const before = s.events.received.length;
  const result = await burst(rig.argv, rig.envs(20));
  await s.until(() => s.events.received.length >= before + 20, 60_000);
  const after = processFigures(resident.pid);
  const hooksCpu = result.hooks.reduce((sum, h) => sum + h.cpu, 0);
  const lone = await loneLogins(rig);
  return {
    idleRss: idle.rssMiB,
    busyRss: after.rssMiB,
    cpuPerLogin20: ms(hooksCpu / 20) + (after.cpuMs - idle.cpuMs) / 20,
    hookCpu: lone.hookCpu,
    endToEnd: lone.endToEnd,
  };
}

/**
 * The Go original in its own namespace, with its fakes: each figure is taken
 * net of its wrapper (nsx.sh and tenv.sh), measured right after it in the
 * same conditions with /bin/true. `undefined` when it cannot run here.
 */
async function goRig() {
  const go = `${PEER}bin/tattle-go`;
  try {
    Deno.statSync(go);
    if (Deno.uid() !== 0) return undefined;
  } catch {
    return undefined;
  }
  const peerDir = await Deno.makeTempDir({ prefix: "tattle-peer-" });
  const shell = (args: string[]) =>
    new Deno.Command(`${PEER}netns.sh`, {
      args,
      env: { PEER_DIR: peerDir, NS: `tbench${Deno.pid}` },
      stdout: "null",
      stderr: "null",
    }).output();
  if ((await shell(["up"])).code !== 0) return undefined;
  // nsx.sh and tenv.sh exec into each other and into the program: one process per hook.
  const wrap = (program: string) => [
    `${PEER}nsx.sh`,
    `${PEER}tenv.sh`,
    "-u",
    "AWS_ACCESS_KEY_ID",
    "-u",
    "AWS_SECRET_ACCESS_KEY",
    "--",
    program,
  ];
  const env = { PEER_DIR: peerDir, NS: `tbench${Deno.pid}`, PATH: "/usr/sbin:/usr/bin:/sbin:/bin" };
  const envs = (n: number) => Array.from({ length: n }, () => env);
  await burst(wrap(go), envs(1));
  const overhead = {
    cpu: [] as number[],
    wall: [] as number[],
    burst50: [] as number[],
    heavySlowest: [] as number[],
  };
  return {
    overhead,
    /** One lone hook: it is synchronous, so its wall time is also its end to end. */
    async lone() {
      const [hook] = (await burst(wrap(go), envs(1))).hooks;
      const [wrapper] = (await burst(wrap("/bin/true"), envs(1))).hooks;
      overhead.cpu.push(ms(wrapper.cpu));
      overhead.wall.push(ms(wrapper.wall));
      return {
        wall: ms(hook.wall - wrapper.wall),
        cpu: ms(hook.cpu - wrapper.cpu),
        rss: hook.rss_kib / 1024,
      };
    },
    /**
     * `n` hooks at once, less the wrapper's own burst of `n` (approximately:
     * on 2 busy cores, time follows total CPU).
     */
    async burst(n: number) {
      // The same /proc sampling as tattle's bursts (it finds nothing here): its CPU is paid alike.
      const watch = watchSenders(`${peerDir}/no-tattle-here.json`);
      const hooks = await burst(wrap(go), envs(n));
      watch.stop();
      const wrapper = await burst(wrap("/bin/true"), envs(n));
      if (n === 50) overhead.burst50.push(ms(wrapper.hooks_done_s));
      if (n === 200) overhead.heavySlowest.push(slowestOf(wrapper));
      return {
        hooksDone: ms(hooks.hooks_done_s - wrapper.hooks_done_s),
        cpuPerLogin: ms((cpuOf(hooks) - cpuOf(wrapper)) / n),
        slowest: slowestOf(hooks) - slowestOf(wrapper),
      };
    },
    async [Symbol.asyncDispose]() {
      await shell(["down"]);
      await Deno.remove(peerDir, { recursive: true }).catch(() => {});
    },
  };
}

/** Rounds of the bursts, each tool in turn, so that this machine's drift hits both alike. */
const BURST_ROUNDS = Number(Deno.env.get("BENCH_BURST_ROUNDS") ?? 3);

/** tattle's figures, and Go's taken in turn with them. */
async function measureSideBySide() {
  const rig = await tattleRig();
  await using _ = rig.s;
  await using go = await goRig();
  const lone = [];
  const goLone = [];
  for (let i = 0; i < LONE_RUNS; i++) {
    lone.push(await loneLogin(rig));
    if (go) goLone.push(await go.lone());
  }
  const small = { 1: await tattleBurst(rig, 1), 20: await tattleBurst(rig, 20) };
  const fifty = [];
  const goFifty = [];
  const heavy = [];
  const goHeavy = [];
  for (let round = 0; round < BURST_ROUNDS; round++) {
    fifty.push(await tattleBurst(rig, 50));
    if (go) goFifty.push(await go.burst(50));
  }
  for (let round = 0; round < Math.max(1, BURST_ROUNDS - 1); round++) {
    heavy.push(await tattleBurst(rig, 200));
    if (go) goHeavy.push(await go.burst(200));
  }
  const of = <T>(runs: T[], pick: (run: T) => number) => median(runs.map(pick));
  return {
    tattle: {
      ...medians(lone),
      small,
      fifty: {
        hooksDone: of(fifty, (b) => b.hooksDone),
        arrived: of(fifty, (b) => b.arrived),
        cpuPerLogin: of(fifty, (b) => b.cpuPerLogin),
        senders: Math.max(...fifty.map((b) => b.senders)),
      },
      heavy: {
        slowest: of(heavy, (b) => b.slowest),
        delivered: heavy.map((b) => b.delivered),
        once: heavy.every((b) => b.once),
        failed: heavy.reduce((sum, b) => sum + b.failed, 0),
      },
    },
    go: go && {
      hookWall: of(goLone, (l) => l.wall),
      hookCpu: of(goLone, (l) => l.cpu),
      hookRss: of(goLone, (l) => l.rss),
      fifty: {
        hooksDone: of(goFifty, (b) => b.hooksDone),
        cpuPerLogin: of(goFifty, (b) => b.cpuPerLogin),
      },
      heavySlowest: of(goHeavy, (b) => b.slowest),
      overheadCpu: median(go.overhead.cpu),
      overheadWall: median(go.overhead.wall),
      wrapperBurst50: median(go.overhead.burst50),
      wrapperHeavySlowest: median(go.overhead.heavySlowest),
    },
  };
}

const { tattle: t, go: g } = await measureSideBySide();
const r = await measureResolution();
const resident = await measureResident();
const ratio = (mine: number, theirs?: number) => theirs ? `${(mine / theirs).toFixed(2)}×` : "";
const f = (n: number) => n.toFixed(1);
const rows: Array<[string, number, number | undefined]> = [
  ["background hook: wall, ms (median)", t.hookWall, g?.hookWall],
  ["background hook: CPU, ms", t.hookCpu, g?.hookCpu],
  ["background hook: peak RSS, MiB", t.hookRss, g?.hookRss],
  ["lone login: CPU with its sender, ms", t.perLogin, g?.hookCpu],
  ["lone login: hook start → event at EventBridge, ms", t.endToEnd, g?.hookWall],
  ["burst of 20: CPU per login with the sender, ms", t.small[20].cpuPerLogin, undefined],
  ["burst of 50: CPU per login with the sender, ms", t.fifty.cpuPerLogin, g?.fifty.cpuPerLogin],
  ["burst of 50: until every hook exited, ms", t.fifty.hooksDone, g?.fifty.hooksDone],
  ["burst of 50: until every event arrived, ms", t.fifty.arrived, undefined],
  ["burst of 50: senders alive at once (most)", t.fifty.senders, undefined],
  ["100 opens + 100 closes at once: slowest hook, ms", t.heavy.slowest, g?.heavySlowest],
];
console.log(
  `tattle login path (${
    TATTLE_BIN ? "compiled binary" : "deno run main.ts"
  }): lone logins median of ${LONE_RUNS}, bursts of 50 median of ${BURST_ROUNDS} rounds, ` +
    `100 + 100 median of ${Math.max(1, BURST_ROUNDS - 1)}; tattle and Go take turns`,
);
console.log(`| figure | tattle | Go original | tattle / Go |\n| --- | --- | --- | --- |`);
for (const [name, mine, theirs] of rows) {
  console.log(
    `| ${name} | ${f(mine)} | ${theirs === undefined ? "" : f(theirs)} | ${ratio(mine, theirs)} |`,
  );
}
console.log(
  `burst of 1: CPU per login ${f(t.small[1].cpuPerLogin)} ms; burst of 20: every hook exited in ` +
    `${f(t.small[20].hooksDone)} ms, senders at once ${t.small[20].senders}`,
);
console.log(
  `100 opens + 100 closes: ${t.heavy.delivered.join(", ")} of 200 delivered, each once: ` +
    `${t.heavy.once}, hooks that failed: ${t.heavy.failed}`,
);
console.log(
  g
    ? `Go original: ../shared/peer/bin/tattle-go in its namespace; its wrapper (nsx.sh, tenv.sh: ` +
      `${f(g.overheadWall)} ms wall, ${
        f(g.overheadCpu)
      } ms CPU, measured with /bin/true) is subtracted; in bursts, the wrapper's own burst ` +
      `(50: ${f(g.wrapperBurst50)} ms until all exited; 200: slowest ${
        f(g.wrapperHeavySlowest)
      } ms) is. ` +
      "It is synchronous: its end-to-end time is its wall time."
    : "Go original: not measured (../shared/peer/bin/tattle-go, root and ip netns are needed)",
);
console.log(
  `uid and groups (PAM_USER=root, lone logins): looked up by the sender: hook ${
    f(r.sender.hookWall)
  } ms ` +
    `wall, ${f(r.sender.hookCpu)} ms CPU, ${
      f(r.sender.perLogin)
    } ms CPU with the sender; by the hook ` +
    `(ignore.groups set): hook ${f(r.hook.hookWall)} ms wall, ${f(r.hook.hookCpu)} ms CPU, ` +
    `${f(r.hook.perLogin)} ms CPU with the sender`,
);
console.log(
  `resident sender: ${f(resident.idleRss)} MiB resident when idle, ${
    f(resident.busyRss)
  } MiB after a burst; ` +
    `burst of 20 with it: ${f(resident.cpuPerLogin20)} ms CPU per login (without it: ${
      f(t.small[20].cpuPerLogin)
    } ms); lone login with it: hook ${f(resident.hookCpu)} ms CPU, end to end ${
      f(resident.endToEnd)
    } ms`,
);
