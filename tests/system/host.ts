/**
 * What the system tests share: real users, a real sshd on 127.0.0.1 with a
 * PAM service of the test's own; pam_exec runs the stand-in
 * (tests/support/stand_in.ts).
 *
 * Needs root, pamtester, openssh-server, openssh-client and gcc. Outside CI a
 * missing prerequisite makes them ignored, saying why; with CI=true it fails. The
 * system's /etc/pam.d/sshd is never modified (each test checks).
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { BINARY } from "../../lib/config/paths.ts";
import { runTattle } from "../support/tattle.ts";
export { writeStandIn } from "../support/stand_in.ts";

export const SSHD = "/usr/sbin/sshd";
export const SYSTEM_PAM = "/etc/pam.d/sshd";

/** Why the system tests cannot run here, or `undefined`. */
export function missingPrerequisite(): string | undefined {
  if (Deno.uid() !== 0) return "not running as root";
  const tools = [
    "/usr/bin/pamtester",
    SSHD,
    "/usr/bin/ssh",
    "/usr/bin/scp",
    "/usr/bin/ssh-keygen",
    "/usr/bin/gcc",
    "/usr/bin/prlimit",
  ];
  for (const path of tools) {
    try {
      Deno.statSync(path);
    } catch {
      return `${path} is missing (apt-get install pamtester openssh-server openssh-client gcc util-linux)`;
    }
  }
  return undefined;
}

/** The reason to ignore them, after failing outright in CI. */
export function prerequisites(): string | undefined {
  const missing = missingPrerequisite();
  if (missing && Deno.env.get("CI") === "true") {
    throw new Error(`system tests cannot run in CI: ${missing}`);
  }
  if (missing) console.log(`ignored: the system tests: ${missing}`);
  return missing;
}

/** What a command printed. */
export interface Output {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command; throws on a non-zero exit unless `check` is false. */
export async function sh(
  program: string,
  args: string[],
  options: { check?: boolean; env?: Record<string, string> } = {},
): Promise<Output> {
  const started = performance.now();
  const out = await new Deno.Command(program, {
    args,
    env: options.env,
    stdin: "null",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const result = {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
    ms: performance.now() - started,
  };
  if (options.check !== false && out.code !== 0) {
    throw new Error(`${program} ${args.join(" ")}: exit ${out.code}: ${result.stderr}`);
  }
  return result;
}

/** The sha256 of a file, or "absent". */
export function sha256(path: string): string {
  try {
    return createHash("sha256").update(Deno.readFileSync(path)).digest("hex");
  } catch {
    return "absent";
  }
}

/** Undo steps, run in reverse order; every test ends with {@link Cleanups.run}. */
export class Cleanups {
  #steps: Array<() => Promise<unknown>> = [];

  /** Adds a step to run at the end. */
  add(step: () => Promise<unknown>): void {
    this.#steps.push(step);
  }

  /** Runs every step, last added first, whatever fails. */
  async run(): Promise<void> {
    for (const step of this.#steps.reverse()) await step().catch(() => {});
    this.#steps = [];
  }
}

/** Why the system tests are ignored here: asked (and said) once. */
let missingOnce: { why: string | undefined } | undefined;

/**
 * A system test: ignored (saying why) where the prerequisites are missing;
 * `fn` registers its undo steps in `cleanups`, which run, last first,
 * whatever happens; then this machine's /etc/pam.d/sshd must be exactly as
 * it was.
 */
export function systemTest(
  name: string,
  fn: (cleanups: Cleanups, t: Deno.TestContext) => Promise<void>,
): void {
  Deno.test({
    name,
    ignore: (missingOnce ??= { why: prerequisites() }).why !== undefined,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn(t) {
      const systemPamBefore = sha256(SYSTEM_PAM);
      const cleanups = new Cleanups();
      try {
        await fn(cleanups, t);
      } finally {
        await cleanups.run();
        assert.equal(
          sha256(SYSTEM_PAM),
          systemPamBefore,
          "/etc/pam.d/sshd is byte-for-byte unchanged",
        );
      }
    },
  });
}

/** A real local user with an ed25519 key authorized for ssh. */
export interface TestUser {
  name: string;
  home: string;
  key: string;
  uid: number;
}

/** Creates a user with a home, a key pair and authorized_keys; removed at cleanup. */
export async function createUser(
  name: string,
  keyDir: string,
  cleanups: Cleanups,
): Promise<TestUser> {
  await sh("/usr/sbin/userdel", ["-r", name], { check: false });
  await sh("/usr/sbin/useradd", ["-m", "-s", "/bin/sh", name]);
  cleanups.add(() => sh("/usr/sbin/userdel", ["-r", "-f", name], { check: false }));
  const key = `${keyDir}/${name}_key`;
  await sh("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
  const home = `/home/${name}`;
  await Deno.mkdir(`${home}/.ssh`, { recursive: true, mode: 0o700 });
  await Deno.copyFile(`${key}.pub`, `${home}/.ssh/authorized_keys`);
  await sh("/bin/chown", ["-R", `${name}:`, `${home}/.ssh`]);
  const uid = Number((await sh("/usr/bin/id", ["-u", name])).stdout.trim());
  return { name, home, key, uid };
}

/** Writes a file in a user's home, owned by the user. */
export async function writeUserFile(user: TestUser, name: string, text: string): Promise<string> {
  const path = `${user.home}/${name}`;
  await Deno.writeTextFile(path, text);
  await Deno.chown(path, user.uid, user.uid);
  return path;
}

/** A running sshd whose PAM service is the test's own. */
export interface TestSshd {
  port: number;
  /** The PAM service name (the sshd link's file name). */
  service: string;
  /** Replaces the service's PAM file. */
  setPam(text: string): Promise<void>;
  /** Runs `command` over ssh as `user`, with the test user's key. */
  ssh(user: TestUser, command: string[], extra?: string[]): Promise<Output>;
  /** The ssh client options, for scp. */
  sshOptions(user: TestUser): string[];
}

/**
 * An sshd config for `name` in `dir`, on a free port of 127.0.0.1, with a
 * host key of its own, PAM on, keys only.
 */
export async function writeSshdConfig(
  dir: string,
  name: string,
): Promise<{ port: number; config: string; pidFile: string }> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const pidFile = `${dir}/${name}.pid`;
  const hostKey = `${dir}/${name}_host_key`;
  await sh("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", hostKey]);
  const config = `${dir}/${name}_config`;
  await Deno.writeTextFile(
    config,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${hostKey}`,
      `PidFile ${pidFile}`,
      "UsePAM yes",
      "UseDNS no",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "Subsystem sftp /usr/lib/openssh/sftp-server",
      "",
    ].join("\n"),
  );
  return { port, config, pidFile };
}

/** The ssh client's options for `user` against a test sshd on `port`. */
export function sshClientOptions(user: TestUser, port: number): string[] {
  return [
    "-i",
    user.key,
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "BatchMode=yes",
    "-o",
    "LogLevel=ERROR",
    "-p",
    String(port),
  ];
}

/**
 * Starts sshd on 127.0.0.1 through a symlink named `service`, so PAM uses
 * /etc/pam.d/`service` (sshd names its PAM service after itself); `under`
 * is a command it runs under (ON_SYSTEMD_HOST, tests/support/tattle.ts).
 */
export async function startSshd(
  dir: string,
  service: string,
  pam: string,
  cleanups: Cleanups,
  under: string[] = [],
): Promise<TestSshd> {
  const { port, config, pidFile } = await writeSshdConfig(dir, service);
  const link = `/usr/local/sbin/${service}`;
  await Deno.mkdir("/run/sshd", { recursive: true, mode: 0o755 });
  const pamFile = `/etc/pam.d/${service}`;
  const setPam = (text: string) => Deno.writeTextFile(pamFile, text);
  await setPam(pam);
  cleanups.add(() => Deno.remove(pamFile));
  await Deno.remove(link).catch(() => {});
  await Deno.symlink(SSHD, link);
  cleanups.add(() => Deno.remove(link));
  const [program, ...args] = [
    ...under,
    link,
    "-f",
    config,
    "-E",
    `${dir}/${service}.log`,
  ];
  await sh(program, args);
  cleanups.add(async () => {
    const pid = Number(await Deno.readTextFile(pidFile).catch(() => "0"));
    if (pid > 0) Deno.kill(pid, "SIGTERM");
  });
  for (let i = 0; i < 200 && sha256(pidFile) === "absent"; i++) {
    await new Promise((r) => setTimeout(r, 25));
  }
  const sshOptions = (user: TestUser) => sshClientOptions(user, port);
  return {
    port,
    service,
    setPam,
    sshOptions,
    ssh: (user, command, extra = []) =>
      sh("/usr/bin/ssh", [...sshOptions(user), ...extra, `${user.name}@127.0.0.1`, ...command], {
        check: false,
      }),
  };
}

/**
 * The stack as `tattle setup` wrote it, made to run this checkout: the
 * binary path becomes the stand-in and the config path the test's.
 */
export function forThisCheckout(stack: string, standIn: string, configPath: string): string {
  return stack.replaceAll(BINARY, standIn).replaceAll(
    "/etc/tattle/config.json",
    configPath,
  );
}

/** Compiles a library that, whenever it is loaded, leaves `<dir>/<euid>-<pid>`. */
export async function markerLibrary(dir: string, markDir: string): Promise<string> {
  const source = `${dir}/marker.c`;
  const library = `${dir}/marker.so`;
  await Deno.writeTextFile(
    source,
    `#include <stdio.h>
#include <unistd.h>
__attribute__((constructor)) static void mark(void) {
  char path[512];
  snprintf(path, sizeof path, "${markDir}/%d-%d", (int)geteuid(), (int)getpid());
  FILE *f = fopen(path, "w");
  if (f) fclose(f);
}
`,
  );
  await sh("/usr/bin/gcc", ["-shared", "-fPIC", "-o", library, source]);
  await Deno.chmod(library, 0o755);
  return library;
}

/**
 * This machine's sshd stack as `tattle setup --pam` leaves it (run as a
 * process under the permission set, on a copy of /etc/pam.d), with `args`
 * added to the setup command line.
 */
export async function stackFromSetup(dir: string, args: string[]): Promise<string> {
  const root = `${dir}/setup-root`;
  await Deno.mkdir(`${root}/etc/pam.d`, { recursive: true });
  await Deno.mkdir(`${root}/var/spool`, { recursive: true });
  await Deno.mkdir(`${root}/usr/bin`, { recursive: true });
  for (const entry of Deno.readDirSync("/etc/pam.d")) {
    if (entry.isFile) {
      await Deno.copyFile(`/etc/pam.d/${entry.name}`, `${root}/etc/pam.d/${entry.name}`);
    }
  }
  await Deno.symlink("/usr/bin/prlimit", `${root}/usr/bin/prlimit`);
  const result = await runTattle(["setup", "--root", root, "--pam", ...args], {}, {
    read: [root],
    write: [root],
  });
  if (result.code !== 0) throw new Error(`tattle setup: exit ${result.code}: ${result.stderr}`);
  return await Deno.readTextFile(`${root}/etc/pam.d/sshd`);
}

/** Where a cgroup hierarchy is mounted: v2's, or v1's with `controller`. */
function cgroupMount(version: "cgroup2" | "cgroup", controller?: string): string | undefined {
  const line = Deno.readTextFileSync("/proc/mounts").split("\n").find((l) => {
    const [, , type, options] = l.split(" ");
    return type === version && (!controller || options.split(",").includes(controller));
  });
  return line?.split(" ")[1];
}

/**
 * What pam_systemd does for a session, without systemd: a pam_exec line,
 * put where pam_systemd runs (common-session, before tattle's line), moves
 * sshd's monitor for the session into a cgroup of its own under a root the
 * test owns, as pam_systemd moves it into session-N.scope. The hook and
 * anything it starts, detached or not, are born there. With `pidsFree`, the
 * session's task limit leaves that many tasks free, as a user can fill the
 * rest of it (`pids.max` is theirs to read) before logging in again.
 */
export async function sessionScopes(
  dir: string,
  stack: string,
  cleanups: Cleanups,
  { pidsFree }: { pidsFree?: number } = {},
) {
  const v2 = cgroupMount("cgroup2");
  if (!v2) throw new Error("no cgroup v2 hierarchy is mounted");
  const tag = `tattle-test-${crypto.randomUUID().slice(0, 8)}`;
  const root = `${v2}/${tag}`;
  await Deno.mkdir(root);
  const lines = [
    "#!/bin/sh",
    '[ "$PAM_TYPE" = open_session ] || exit 0',
    `mkdir -p ${root}/session-$PPID && echo $PPID > ${root}/session-$PPID/cgroup.procs`,
  ];
  let pidsRoot: string | undefined;
  if (pidsFree !== undefined) {
    const v1 = cgroupMount("cgroup", "pids");
    pidsRoot = v1 ? `${v1}/${tag}` : root;
    if (!v1) await Deno.writeTextFile(`${root}/cgroup.subtree_control`, "+pids");
    else await Deno.mkdir(pidsRoot);
    const tasks = v1 ? "tasks" : "cgroup.threads";
    const scope = `${pidsRoot}/session-$PPID`;
    lines.push(
      `mkdir -p ${scope} && echo $PPID > ${scope}/cgroup.procs && ` +
        `echo $(( $(wc -l < ${scope}/${tasks}) + ${pidsFree} )) > ${scope}/pids.max`,
    );
  }
  const script = `${dir}/session-scope`;
  await Deno.writeTextFile(script, `${lines.join("\n")}\n`, { mode: 0o755 });
  const removeAll = async (base: string) => {
    for (const scope of Deno.readDirSync(base)) {
      if (!scope.isDirectory) continue;
      // What logind does as a session ends: anything left in its scope goes too.
      await Deno.writeTextFile(`${base}/${scope.name}/cgroup.kill`, "1").catch(() => {});
      for (const pid of processesOf(`${base}/${scope.name}`)) Deno.kill(pid, "SIGKILL");
      for (let i = 0; i < 100; i++) {
        if (await Deno.remove(`${base}/${scope.name}`).then(() => true, () => false)) break;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    await Deno.remove(base).catch(() => {});
  };
  cleanups.add(async () => {
    if (pidsRoot && pidsRoot !== root) await removeAll(pidsRoot);
    await removeAll(root);
  });
  const placed = stack.replace(
    /^@include common-session$/m,
    `@include common-session\nsession optional pam_exec.so ${script}`,
  );
  if (placed === stack) throw new Error("the stack has no @include common-session");
  return {
    stack: placed,
    /** Every process of `user`'s live session: its scope's. */
    processes(user: string): number[] {
      for (const scope of Deno.readDirSync(root)) {
        if (!scope.isDirectory) continue;
        const pids = processesOf(`${root}/${scope.name}`);
        const owner = pids.some((pid) => {
          try {
            return Deno.readTextFileSync(`/proc/${pid}/cmdline`).includes(`: ${user} [priv]`);
          } catch {
            return false;
          }
        });
        if (owner) return pids;
      }
      return [];
    },
  };
}

function processesOf(cgroup: string): number[] {
  try {
    return Deno.readTextFileSync(`${cgroup}/cgroup.procs`).split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * /run/utmp as a systemd host makes it at boot (`systemd-tmpfiles`: root,
 * group utmp, 0664), where sshd records pty logins; its content as it was
 * is put back afterwards, and the file removed if the test made it.
 */
export async function withUtmp(cleanups: Cleanups): Promise<void> {
  const path = "/run/utmp";
  let before: Uint8Array | undefined;
  try {
    before = await Deno.readFile(path);
  } catch {
    await sh("/usr/bin/install", ["-m", "0664", "-o", "root", "-g", "utmp", "/dev/null", path]);
  }
  cleanups.add(() => before ? Deno.writeFile(path, before) : Deno.remove(path));
}
