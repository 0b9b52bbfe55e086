/**
 * `deno task bench`: what a login costs, alone and in bursts, on a host as
 * production runs tattle. It reports and asserts nothing (speed goals are
 * not tests).
 *
 * tattle runs as `deno run main.ts` with the binary's permission set (or the
 * binary TATTLE_BIN names), against the local fakes, with role credentials
 * from the fake IMDS, as on a systemd host: hooks see /run/systemd/system
 * (a mount namespace around the burst launcher), knock on the sender
 * service's socket and start nothing; the sender is tattle-sender.service,
 * started by its socket as its units say, as the tattle account
 * (tests/support/sender_service.ts stands in for PID 1). Needs root.
 *
 * The reference for the hook's CPU is an empty program started the same
 * way (`deno run`, the same flags, permission set, environment), in the
 * same bursts. When the original Go tool is present (../shared/peer, root,
 * `ip netns`), it is measured in the same run inside its own namespace with
 * its own fakes, taking turns with tattle login by login and burst by burst
 * (this VM's speed drifts over minutes), and the table shows the ratios.
 * BENCH_RUNS sets the lone logins (11), BENCH_BURST_ROUNDS the rounds of
 * bursts of 50 (3; one fewer of 100 + 100).
 *
 * Every process a burst leaves behind is counted: tests/support/burst.py is
 * a child subreaper.
 */

import { senderServiceHost } from "../tests/support/sender_service.ts";
import {
  denoRunArgs,
  ON_SYSTEMD_HOST,
  pamEnv,
  procStat,
  sharedCacheDir,
  TATTLE_BIN,
} from "../tests/support/tattle.ts";

const LONE_RUNS = Number(Deno.env.get("BENCH_RUNS") ?? 11);
/** Rounds of the bursts, each tool in turn, so that this machine's drift hits both alike. */
const BURST_ROUNDS = Number(Deno.env.get("BENCH_BURST_ROUNDS") ?? 3);
/** Seconds the sender service stays once idle: warm for a lone login, gone before a cold burst. */
const SENDER_IDLE_S = 4;
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
  /** When it was started, in seconds since the epoch. */
  began_at: number;
}
interface Burst {
  hooks: Hook[];
  hooks_done_s: number;
  others_cpu_s: number;
}

/** Starts `envs.length` copies of `argv` at once through burst.py, under `under`. */
async function burst(
  argv: string[],
  envs: Array<Record<string, string>>,
  under: string[] = [],
): Promise<Burst> {
  const [program, ...args] = [...under, "/usr/bin/python3", BURST, JSON.stringify({ argv, envs })];
  const out = await new Deno.Command(program, { args, stderr: "inherit" }).output();
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const spread = (values: number[]) =>
  `${Math.min(...values).toFixed(1)}–${Math.max(...values).toFixed(1)}`;
const ms = (seconds: number) => seconds * 1000;
const cpuOf = (b: Burst) => b.hooks.reduce((sum, h) => sum + h.cpu, 0);
const slowestOf = (b: Burst) => Math.max(...b.hooks.map((h) => ms(h.wall)));

/** A process's resident memory (MiB), its peak, and CPU so far (ms), from /proc. */
function processFigures(pid: number) {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kib = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)![1]);
  const [utime, stime] = procStat(pid).slice(11, 13);
  const tick = 1000 / 100; // CLK_TCK
  return {
    rssMiB: kib("VmRSS") / 1024,
    peakMiB: kib("VmHWM") / 1024,
    cpuMs: (Number(utime) + Number(stime)) * tick,
  };
}

/** tattle on a systemd host: the account, the layout, the service, and hooks that knock. */
async function tattleRig() {
  const host = await senderServiceHost({ timeout: 2, sender_idle: SENDER_IDLE_S });
  const { s, service } = host;
  const argv = TATTLE_BIN
    ? [TATTLE_BIN, "--config", s.home.configPath]
    : [Deno.execPath(), ...denoRunArgs(s.home.access), "--config", s.home.configPath];
  // An empty program started exactly as the hook is: deno, its flags, the permission set.
  const empty = `${s.home.dir}/empty.ts`;
  await Deno.writeTextFile(empty, "export {};\n");
  const emptyArgv = [Deno.execPath(), ...denoRunArgs(s.home.access, empty)];
  // Under `deno run`, what the stand-in sets for deno itself (tests/support/stand_in.ts).
  const launcher: Record<string, string> = TATTLE_BIN
    ? {}
    : { DENO_DIR: await sharedCacheDir(), DENO_NO_UPDATE_CHECK: "1" };
  let logins = 0; // the next account to log in, so that lone logins take turns too
  const envs = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      ...pamEnv({
        PAM_USER: ACCOUNTS[logins++ % ACCOUNTS.length],
        PAM_TYPE: i % 2 ? "close_session" : "open_session",
      }),
      ...launcher,
    }));
  const hooks = (n: number) => burst(argv, envs(n), ON_SYSTEMD_HOST);
  /** The running service's process, or `undefined`. */
  const running = () => service.runs().find((run) => run.code === undefined);
  /** Waits until the service has left (idle), so that the next login starts it cold. */
  const idle = async () => {
    await s.until(() => running() === undefined, (SENDER_IDLE_S + 10) * 1000);
  };
  await hooks(1); // Deno's caches, the identity cache: as on a host that has run a while
  await s.until(() => s.deliveredIds().length === 1, 20_000);
  return {
    s,
    service,
    running,
    idle,
    hooks,
    emptyRuns: (n: number) => burst(emptyArgv, envs(n), ON_SYSTEMD_HOST),
    [Symbol.asyncDispose]: host[Symbol.asyncDispose],
  };
}

type TattleRig = Awaited<ReturnType<typeof tattleRig>>;

/** A lone login with the service warm: the hook, and its event's arrival. */
async function loneLogin(rig: TattleRig) {
  const before = rig.s.events.received.length;
  const result = await rig.hooks(1);
  await rig.s.until(() => rig.s.events.received.length > before, 10_000);
  const [hook] = result.hooks;
  return {
    wall: ms(hook.wall),
    cpu: ms(hook.cpu),
    rss: hook.rss_kib / 1024,
    // From the hook's start to its event's arrival, both as the processes that saw them
    // tell it.
    endToEnd: rig.s.events.received[before].arrivedAt - ms(hook.began_at),
  };
}

/**
 * A lone login with the service gone (idle past sender_idle): its end to
 * end, and the CPU of the service run it started, once the event is sent.
 */
async function coldLogin(rig: TattleRig) {
  await rig.idle();
  const login = await loneLogin(rig);
  const run = rig.running();
  return { ...login, serviceCpu: run ? processFigures(run.pid).cpuMs : NaN };
}

/**
 * `n` logins at once, the service cold (the burst starts it) or warm (it
 * runs already): until every hook exited, until every event arrived, the
 * CPU per login with the service's share, and the service's memory after.
 */
async function tattleBurst(rig: TattleRig, n: number, warm: boolean) {
  if (warm) {
    if (!rig.running()) await loneLogin(rig); // starts it
  } else {
    await rig.idle();
  }
  const runsBefore = rig.service.runs().length;
  const warmRun = rig.running();
  const cpuBefore = warmRun ? processFigures(warmRun.pid).cpuMs : 0;
  const before = rig.s.events.received.length;
  const result = await rig.hooks(n);
  await rig.s.until(() => rig.s.events.received.length >= before + n, 60_000);
  const runs = rig.service.runs();
  const current = rig.running();
  const after = current ? processFigures(current.pid) : undefined;
  // The service's CPU during the burst: what its running run used since, plus whole runs.
  let serviceCpu = 0;
  for (const run of runs.slice(warmRun ? runsBefore - 1 : runsBefore)) {
    const cpu = run.cpuMs ?? (run.pid === current?.pid ? after!.cpuMs : 0);
    serviceCpu += run.pid === warmRun?.pid ? cpu - cpuBefore : cpu;
  }
  const arrivedAt = rig.s.events.received.slice(before).map((e) => e.arrivedAt);
  const ids = rig.s.events.received.slice(before).map((e) => e.detail.event_id);
  return {
    hooksDone: ms(result.hooks_done_s),
    arrived: Math.max(...arrivedAt) - ms(Math.min(...result.hooks.map((h) => h.began_at))),
    hookCpu: ms(cpuOf(result) / n),
    cpuPerLogin: (ms(cpuOf(result) + result.others_cpu_s) + serviceCpu) / n,
    slowest: slowestOf(result),
    starts: runs.length - runsBefore,
    rssAfter: after?.rssMiB,
    peakAfter: after?.peakMiB,
    delivered: ids.length,
    once: new Set(ids).size === ids.length,
    failed: result.hooks.filter((h) => h.code !== 0).length,
    leftBehind: result.others_cpu_s > 0,
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
  return {
    /** One lone hook: it is synchronous, so its wall time is also its end to end. */
    async lone() {
      const [hook] = (await burst(wrap(go), envs(1))).hooks;
      const [wrapper] = (await burst(wrap("/bin/true"), envs(1))).hooks;
      return { wall: ms(hook.wall - wrapper.wall), cpu: ms(hook.cpu - wrapper.cpu) };
    },
    /**
     * `n` hooks at once, less the wrapper's own burst of `n` (approximately:
     * on 2 busy cores, time follows total CPU).
     */
    async burst(n: number) {
      const hooks = await burst(wrap(go), envs(n));
      const wrapper = await burst(wrap("/bin/true"), envs(n));
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

if (Deno.uid() !== 0) {
  console.log("deno task bench needs root: the sender's account, mount namespaces, the Go peer");
  Deno.exit(1);
}

await using rig = await tattleRig();
await using go = await goRig();

// Lone logins, the service warm, each followed by an empty program and Go's hook.
const lone = [];
const empty = [];
const goLone = [];
for (let i = 0; i < LONE_RUNS; i++) {
  lone.push(await loneLogin(rig));
  empty.push(ms((await rig.emptyRuns(1)).hooks[0].cpu));
  if (go) goLone.push(await go.lone());
}
const warmService = rig.running();
const idleFigures = warmService ? processFigures(warmService.pid) : undefined;
const coldLone = [];
for (let i = 0; i < 3; i++) coldLone.push(await coldLogin(rig));

const cold = [];
const warm = [];
const goFifty = [];
const emptyFifty = [];
for (let round = 0; round < BURST_ROUNDS; round++) {
  cold.push(await tattleBurst(rig, 50, false));
  warm.push(await tattleBurst(rig, 50, true));
  emptyFifty.push(ms(cpuOf(await rig.emptyRuns(50)) / 50));
  if (go) goFifty.push(await go.burst(50));
}
const heavy = [];
const goHeavy = [];
for (let round = 0; round < Math.max(1, BURST_ROUNDS - 1); round++) {
  heavy.push(await tattleBurst(rig, 200, true));
  if (go) goHeavy.push(await go.burst(200));
}

const of = <T>(runs: T[], pick: (run: T) => number) => median(runs.map(pick));
const f = (n: number | undefined) => n === undefined ? "" : n.toFixed(1);
const ratio = (mine: number, theirs?: number) => theirs ? `${(mine / theirs).toFixed(2)}×` : "";
const goOf = <T>(runs: T[], pick: (run: T) => number) => go ? of(runs, pick) : undefined;
const rows: Array<[string, number, number | undefined, string]> = [
  [
    "lone login, end to end (hook start → event at EventBridge), service warm, ms",
    of(lone, (l) => l.endToEnd),
    goOf(goLone, (l) => l.wall),
    "≤ 2×",
  ],
  [
    "burst of 50: until every hook exited, ms (service cold)",
    of(cold, (b) => b.hooksDone),
    goOf(goFifty, (b) => b.hooksDone),
    "≤ 1.3×",
  ],
  [
    "burst of 50: CPU per login, the service's start and sends included, ms",
    of(cold, (b) => b.cpuPerLogin),
    goOf(goFifty, (b) => b.cpuPerLogin),
    "≤ 1.5×",
  ],
  [
    "burst of 50: CPU per login, the service warm, ms",
    of(warm, (b) => b.cpuPerLogin),
    goOf(goFifty, (b) => b.cpuPerLogin),
    "",
  ],
  [
    "100 opens + 100 closes at once: slowest hook, ms",
    of(heavy, (b) => b.slowest),
    goOf(goHeavy, (b) => b.slowest),
    "",
  ],
];
console.log(
  `tattle (${TATTLE_BIN ? "compiled binary" : "deno run main.ts"}) on a systemd host, ` +
    `sender_idle ${SENDER_IDLE_S} s: lone logins median of ${LONE_RUNS}, bursts of 50 median ` +
    `of ${BURST_ROUNDS} rounds, 100 + 100 median of ${Math.max(1, BURST_ROUNDS - 1)}; ` +
    "tattle, the empty program and Go take turns",
);
console.log(
  `| figure | tattle | Go original | tattle / Go | goal |\n| --- | --- | --- | --- | --- |`,
);
for (const [name, mine, theirs, goal] of rows) {
  console.log(`| ${name} | ${f(mine)} | ${f(theirs)} | ${ratio(mine, theirs)} | ${goal} |`);
}
const hookCpu = of(lone, (l) => l.cpu);
const emptyCpu = median(empty);
console.log(
  `background hook CPU: ${f(hookCpu)} ms (spread ${spread(lone.map((l) => l.cpu))}) against ` +
    `${f(emptyCpu)} ms for an empty deno run started the same way (spread ${spread(empty)}): ` +
    `${ratio(hookCpu, emptyCpu)} (goal ≤ 1.3×); in bursts of 50, per hook: ` +
    `${f(of(cold, (b) => b.hookCpu))} against ${f(median(emptyFifty))} ms, ` +
    `${ratio(of(cold, (b) => b.hookCpu), median(emptyFifty))}`,
);
console.log(
  `hook alone: wall ${f(of(lone, (l) => l.wall))} ms, peak RSS ${f(of(lone, (l) => l.rss))} MiB` +
    (go
      ? `; Go's hook: CPU ${f(of(goLone, (l) => l.cpu))} ms, wall ${
        f(of(goLone, (l) => l.wall))
      } ms`
      : ""),
);
console.log(
  `lone login with the service cold (median of 3): end to end ${
    f(of(coldLone, (l) => l.endToEnd))
  } ms; the service run it starts: ${f(of(coldLone, (l) => l.serviceCpu))} ms CPU`,
);
console.log(
  `sender service: ${f(idleFigures?.rssMiB)} MiB resident when idle; after a burst of 50: ` +
    `${f(of(warm, (b) => b.rssAfter ?? 0))} MiB (peak ${f(of(warm, (b) => b.peakAfter ?? 0))}); ` +
    `starts per cold burst: ${cold.map((b) => b.starts).join(", ")}; per warm burst: ` +
    `${warm.map((b) => b.starts).join(", ")}; until every event arrived (cold): ` +
    `${f(of(cold, (b) => b.arrived))} ms`,
);
const all = [...cold, ...warm, ...heavy];
console.log(
  `delivered each once: ${all.every((b) => b.once)}; hooks that failed: ` +
    `${all.reduce((n, b) => n + b.failed, 0)}; a process left behind by a hook: ` +
    `${all.some((b) => b.leftBehind)}`,
);
console.log(
  go
    ? "Go original: ../shared/peer/bin/tattle-go in its namespace, net of its wrapper " +
      "(nsx.sh, tenv.sh, measured with /bin/true right after); it is synchronous: its end to " +
      "end is its wall time"
    : "Go original: not measured (../shared/peer/bin/tattle-go, root and ip netns are needed)",
);
