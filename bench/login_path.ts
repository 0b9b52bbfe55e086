/**
 * `deno task bench`: wall time (median of 25 runs) and peak RSS of one hook
 * run in background and inline mode, and of `--version`, against the local
 * fakes. A measurement, not a test: it prints a table and asserts nothing.
 *
 * Runs `deno run main.ts` with the binary's permission set, or the compiled
 * binary when TATTLE_BIN names one.
 */

import { scenario } from "../tests/support/scenario.ts";
import { cacheDir, denoRunArgs, pamEnv, TATTLE_BIN } from "../tests/support/tattle.ts";

const RUNS = 25;

await using s = await scenario();
const base = TATTLE_BIN ? [TATTLE_BIN] : [Deno.execPath(), ...denoRunArgs(s.home.access)];
const env = { ...pamEnv(), DENO_DIR: await cacheDir() };
const cases: Array<[string, string[]]> = [
  ["hook, background mode", ["--config", s.home.configPath, "--mode", "background"]],
  ["hook, inline mode", ["--config", s.home.configPath, "--mode", "inline"]],
  ["--version", ["--version"]],
];

// Warm the identity cache and Deno's module cache, as on a running host.
await run([...base, ...cases[1][1]]);

const rows = [];
for (const [name, args] of cases) {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    times.push(await run([...base, ...args]));
    // Logins are not back to back: let the detached sender finish before the next one.
    await s.until(() => s.spooled().length === 0, 10_000);
  }
  times.sort((a, b) => a - b);
  rows.push({
    case: name,
    "median ms": times[Math.floor(times.length / 2)].toFixed(1),
    "min ms": times[0].toFixed(1),
    "max ms": times[times.length - 1].toFixed(1),
    "peak RSS MiB": (await peakRssKiB([...base, ...args]) / 1024).toFixed(1),
  });
}
console.log(
  `tattle login path (${TATTLE_BIN ? "compiled binary" : "deno run main.ts"}), ${RUNS} runs each`,
);
console.table(rows);
console.log(`events delivered: ${s.events.received.length}`);

async function run(argv: string[]): Promise<number> {
  const started = performance.now();
  const out = await new Deno.Command(argv[0], { args: argv.slice(1), env, clearEnv: true })
    .output();
  const ms = performance.now() - started;
  if (out.code !== 0) throw new Error(`${argv.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return ms;
}

/** Peak RSS of the process (not its detached sender), from getrusage(RUSAGE_CHILDREN). */
async function peakRssKiB(argv: string[]): Promise<number> {
  const script =
    "import resource,subprocess,sys; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); " +
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)";
  const out = await new Deno.Command("python3", {
    args: ["-c", script, ...argv],
    env,
    clearEnv: true,
  })
    .output();
  return Number(new TextDecoder().decode(out.stdout).trim());
}
