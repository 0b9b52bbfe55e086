/**
 * Runs tattle as pam_exec does: a fresh process whose environment holds only
 * the PAM variables, with the permission set from deno.json.
 *
 * Set TATTLE_BIN to a compiled binary to run the same tests against it.
 *
 * @module
 */

import { permissionFlags } from "../../lib/cli/permissions.ts";

/** The repository root, with a trailing slash. */
export const ROOT = new URL("../../", import.meta.url).pathname;

/** The compiled binary under test, when one is given. */
export const TATTLE_BIN = Deno.env.get("TATTLE_BIN");

let denoDir: string | undefined;

/** Deno's cache directory, so a run with a cleared environment downloads nothing. */
export async function cacheDir(): Promise<string> {
  if (denoDir) return denoDir;
  const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output();
  denoDir = JSON.parse(new TextDecoder().decode(out.stdout)).denoDir as string;
  return denoDir;
}

let sharedDir: Promise<string> | undefined;

/** Where the test processes' shared caches go, each its own. */
const SHARED_PREFIX = "/var/tmp/tattle-test-deno-cache-";

/**
 * A Deno cache that other accounts (the sender's, as a service would run
 * it) can read: this process's, hard-linked into a directory anyone may
 * enter (root's own sits under /root, which is 0700). One per test process,
 * removed as it exits (and any a killed one left), so that test runs at
 * once never pull a cache from under each other. Deno uses a cache it
 * cannot write without complaint.
 */
export function sharedCacheDir(): Promise<string> {
  sharedDir ??= (async () => {
    for (const entry of Deno.readDirSync("/var/tmp")) {
      const pid = Number(`/var/tmp/${entry.name}`.slice(SHARED_PREFIX.length));
      if (!`/var/tmp/${entry.name}`.startsWith(SHARED_PREFIX) || !Number.isInteger(pid)) continue;
      if (!exists(`/proc/${pid}`)) {
        await Deno.remove(`/var/tmp/${entry.name}`, { recursive: true }).catch(() => {});
      }
    }
    const copy = `${SHARED_PREFIX}${Deno.pid}`;
    await Deno.remove(copy, { recursive: true }).catch(() => {});
    const out = await new Deno.Command("/bin/cp", { args: ["-al", await cacheDir(), copy] })
      .output();
    if (!out.success) throw new Error(`cp -al: ${new TextDecoder().decode(out.stderr)}`);
    await Deno.chmod(copy, 0o755);
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(copy, { recursive: true });
      } catch {
        // gone already
      }
    });
    return copy;
  })();
  return sharedDir;
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * `deno run` arguments (after the deno executable) that start `entry`
 * (main.ts) with the permission set plus `paths`, as the binary would run.
 */
export function denoRunArgs(paths: RunOptions = {}, entry = `${ROOT}main.ts`): string[] {
  return [
    "run",
    "--quiet",
    "--no-prompt",
    "--frozen",
    `--config=${ROOT}deno.json`,
    // Under `deno run`, tattle's own executable (for the detached sender) is deno.
    ...permissionFlags({ read: paths.read, write: paths.write, run: [Deno.execPath()] }),
    entry,
  ];
}

/** Kills a run that hangs, so a hang fails its test instead of stalling the suite. */
function hangGuard(): AbortSignal {
  return AbortSignal.timeout(60_000);
}

/** What one run of tattle did. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Wall time, milliseconds. */
  ms: number;
}

/** Options for {@link runTattle}. */
export interface RunOptions {
  /** Paths the test lets tattle read besides the permission set's (its config dir). */
  read?: string[];
  /** Paths the test lets tattle write (its spool and state dirs). */
  write?: string[];
  /** A command tattle runs under, its own arguments first (`unshare`, for a mount namespace). */
  under?: string[];
  /** The account it runs as (the sender's, as its service runs it); this process's if unset. */
  as?: { uid: number; gid: number };
}

/** Runs tattle with `args` and exactly `env` as its environment. */
export async function runTattle(
  args: string[],
  env: Record<string, string>,
  options: RunOptions = {},
): Promise<RunResult> {
  const [program, ...rest] = [...options.under ?? [], ...await tattleArgv(args, options)];
  return await execute(
    program,
    rest,
    TATTLE_BIN ? env : { ...env, DENO_DIR: await launcherCacheDir(options) },
    options.as,
  );
}

/**
 * The cache a run under `deno run` gets: one every account can read, as
 * the sender it may start runs as the sender's account.
 */
function launcherCacheDir(_options: RunOptions): Promise<string> {
  return sharedCacheDir();
}

/** A long-running tattle (a resident sender), stopped when disposed. */
export interface RunningTattle extends AsyncDisposable {
  pid: number;
  /** Whether it has exited by itself. */
  exited: () => boolean;
  /** Everything it wrote to stderr, once it has exited. */
  stderr: Promise<string>;
  /** How it ended. */
  status: Promise<Deno.CommandStatus>;
}

/** Starts tattle with `args`, as {@link runTattle} runs it, without waiting for it. */
export async function startTattle(
  args: string[],
  options: RunOptions = {},
): Promise<RunningTattle> {
  const [program, ...rest] = await tattleArgv(args, options);
  const child = new Deno.Command(program, {
    args: rest,
    env: TATTLE_BIN ? {} : { DENO_DIR: await launcherCacheDir(options), DENO_NO_UPDATE_CHECK: "1" },
    uid: options.as?.uid,
    gid: options.as?.gid,
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let exited = false;
  const status = child.status.then((status) => (exited = true, status));
  const stderr = new Response(child.stderr).text();
  return {
    pid: child.pid,
    exited: () => exited,
    stderr,
    status,
    async [Symbol.asyncDispose]() {
      if (!exited) child.kill("SIGTERM");
      await status;
      await stderr;
    },
  };
}

/**
 * A command to run tattle under ({@link RunOptions.under}): its own mount
 * namespace, where /usr/bin/id is `program`. Needs root.
 */
export function withIdReplacedBy(program: string): string[] {
  return [
    "/usr/bin/unshare",
    "--mount",
    "--propagation=private",
    "/bin/sh",
    "-c",
    `mount --bind '${program}' /usr/bin/id && exec "$0" "$@"`,
  ];
}

/**
 * A command to run tattle under as on a systemd host: its own mount
 * namespace, where /run/systemd/system exists (what tattle, like
 * sd_booted(3), looks at). Needs root.
 */
export const ON_SYSTEMD_HOST = [
  "/usr/bin/unshare",
  "--mount",
  "--propagation=private",
  "/bin/sh",
  "-c",
  "mkdir -p /run/systemd && mount -t tmpfs -o mode=0755 tmpfs /run/systemd && " +
  'mkdir /run/systemd/system && exec "$0" "$@"',
];

/** A name service that knows nobody: /usr/bin/id is /bin/false. Needs root. */
export const WITHOUT_NAME_SERVICE = withIdReplacedBy("/bin/false");

/**
 * A name service that records each question and knows nobody: what tattle
 * runs under `under` asks it, and `calls()` lists the arguments of each
 * `id` run. Needs root.
 */
export async function nameServiceSpy() {
  const dir = await Deno.makeTempDir({ prefix: "tattle-id-spy-" });
  const spy = `${dir}/id`;
  await Deno.writeTextFile(spy, `#!/bin/sh\necho "$*" >> '${dir}/calls'\nexit 1\n`, {
    mode: 0o755,
  });
  return {
    under: withIdReplacedBy(spy),
    calls: (): string[] => {
      try {
        return Deno.readTextFileSync(`${dir}/calls`).split("\n").filter((line) => line);
      } catch {
        return [];
      }
    },
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/** The fields of /proc/PID/stat after the command name, from the state on (`[0]` is the state). */
export function procStat(pid: number): string[] {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** The launcher that starts a program with an environment that may repeat names. */
const EXECVE_WITH_ENTRIES = new URL("./execve_entries.py", import.meta.url).pathname;

/**
 * Runs tattle with `args` and exactly `entries` as its environment, in that
 * order and with repeated names kept, as pam_exec builds a hook's
 * environment (no API that takes a map can).
 */
export async function runTattleWithEntries(
  args: string[],
  entries: Array<[string, string]>,
  options: RunOptions = {},
): Promise<RunResult> {
  const argv = await tattleArgv(args, options);
  const env = TATTLE_BIN ? entries : [...entries, ["DENO_DIR", await launcherCacheDir(options)]];
  return await execute("/usr/bin/python3", [
    EXECVE_WITH_ENTRIES,
    JSON.stringify({ argv, env }),
  ], {});
}

/** The command line that runs tattle: the binary under test, or main.ts under the permission set. */
function tattleArgv(args: string[], options: RunOptions): Promise<string[]> {
  return Promise.resolve(
    TATTLE_BIN ? [TATTLE_BIN, ...args] : [Deno.execPath(), ...denoRunArgs(options), ...args],
  );
}

async function execute(
  program: string,
  args: string[],
  env: Record<string, string>,
  as?: { uid: number; gid: number },
): Promise<RunResult> {
  const command = new Deno.Command(program, {
    args,
    env,
    uid: as?.uid,
    gid: as?.gid,
    clearEnv: true,
    stdin: "null",
    signal: hangGuard(),
  });
  const started = performance.now();
  const out = await command.output();
  const ms = performance.now() - started;
  const decoder = new TextDecoder();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
    ms,
  };
}

/** A PAM environment for a session open by alice from 203.0.113.9. */
export function pamEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    PAM_TYPE: "open_session",
    PAM_USER: "alice",
    PAM_RHOST: "203.0.113.9",
    PAM_SERVICE: "sshd",
    PAM_TTY: "ssh",
    ...overrides,
  };
}

/**
 * pam_exec's own items for `user`'s session from 203.0.113.9, in pam_exec's
 * order: what follows the PAM environment in the hook's environment.
 */
export function pamExecItems(type = "open_session", user = "alice"): Array<[string, string]> {
  return [
    ["PAM_SERVICE", "sshd"],
    ["PAM_USER", user],
    ["PAM_TTY", "ssh"],
    ["PAM_RHOST", "203.0.113.9"],
    ["PAM_TYPE", type],
  ];
}

/** Writes `config` as JSON into a fresh temporary directory; returns its path. */
export async function writeConfig(config: Record<string, unknown>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "tattle-test-" });
  const path = `${dir}/config.json`;
  await Deno.writeTextFile(path, JSON.stringify(config));
  return path;
}

/**
 * A temporary directory with a config whose spool, state and runtime
 * directories are inside it, and the paths tattle needs to be allowed.
 */
export async function testHome(config: Record<string, unknown>) {
  const dir = await Deno.makeTempDir({ prefix: "tattle-test-" });
  const full = {
    spool_dir: `${dir}/spool`,
    state_dir: `${dir}/state`,
    runtime_dir: `${dir}/run`,
    ...config,
  };
  const configPath = `${dir}/config.json`;
  await Deno.writeTextFile(configPath, JSON.stringify(full));
  // The sender's state directory, as setup makes it (nothing root's hook creates).
  await Deno.mkdir(full.state_dir as string, { recursive: true, mode: 0o755 });
  return {
    dir,
    configPath,
    spoolDir: full.spool_dir as string,
    stateDir: full.state_dir as string,
    runtimeDir: full.runtime_dir as string,
    access: { read: [dir], write: [dir] },
  };
}

/** Running `tattle sender` processes for `configPath` (the test may read /proc; tattle may not). */
export function senderPids(configPath: string): number[] {
  const parents = new Map<number, number>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const argv = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`).split("\0");
      if (!argv.includes("sender") || !argv.includes(configPath)) continue;
      parents.set(Number(entry.name), Number(procStat(Number(entry.name))[1])); // its parent
    } catch {
      // gone meanwhile
    }
  }
  // A sender's child between fork and exec (its `id` lookups) still shows the
  // sender's command line: it is not a second sender.
  return [...parents].filter(([, parent]) => !parents.has(parent)).map(([pid]) => pid);
}

/** Samples {@link senderPids} every `everyMs` until stopped; returns the most seen at once. */
export function watchSenders(configPath: string, everyMs = 10) {
  let most = 0;
  const seen = new Set<number>();
  const timer = setInterval(() => {
    const pids = senderPids(configPath);
    pids.forEach((p) => seen.add(p));
    most = Math.max(most, pids.length);
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return { mostAtOnce: most, started: seen.size };
    },
  };
}
