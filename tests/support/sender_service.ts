/**
 * tattle-sender.socket and tattle-sender.service run as their unit files
 * say, on a machine where systemd is not PID 1: the socket's path, mode and
 * group, and the service's ExecStart and User=, are read from contrib/, and
 * tests/support/socket_unit.py stands in for PID 1 (root only).
 *
 * @module
 */

import type { LocalAccount } from "../../lib/host/accounts.ts";
import { BINARY, senderSocket } from "../../lib/config/paths.ts";
import { scenario } from "./scenario.ts";
import { withSenderAccount } from "./sender_account.ts";
import { writeStandIn } from "./stand_in.ts";
import { ROOT } from "./tattle.ts";

const STAND_IN_PID1 = new URL("./socket_unit.py", import.meta.url).pathname;

/** `key=value` settings of a unit file's lines. */
export function unitSettings(name: string): Map<string, string> {
  const text = Deno.readTextFileSync(`${ROOT}contrib/systemd/${name}`);
  return new Map(
    text.split("\n").filter((line) => /^[A-Za-z]+=/.test(line)).map((line) => {
      const at = line.indexOf("=");
      return [line.slice(0, at), line.slice(at + 1)];
    }),
  );
}

/** One run of the service, from the stand-in's log. */
export interface ServiceRun {
  pid: number;
  /** Its exit code, once it has exited. */
  code?: number;
  /** The CPU it used, in ms, once it has exited. */
  cpuMs?: number;
}

/**
 * Starts the socket (at `socketPath`, the test's runtime directory's) and
 * leaves the service to it: ExecStart with the binary replaced by
 * `standIn` and the config path by `configPath`, as User=, which must be
 * `account`.
 */
export async function senderService(
  options: { socketPath: string; standIn: string; configPath: string; account: LocalAccount },
) {
  const socket = unitSettings("tattle-sender.socket");
  const service = unitSettings("tattle-sender.service");
  if (service.get("User") !== options.account.name) {
    throw new Error(`the service's User= is ${service.get("User")}, not ${options.account.name}`);
  }
  const argv = service.get("ExecStart")!.split(/\s+/).map((arg) =>
    arg === BINARY ? options.standIn : arg === "/etc/tattle/config.json" ? options.configPath : arg
  );
  const log = `${options.socketPath}.runs`;
  const child = new Deno.Command("/usr/bin/python3", {
    args: [
      STAND_IN_PID1,
      JSON.stringify({
        path: options.socketPath,
        mode: socket.get("SocketMode"),
        group: socket.get("SocketGroup") === options.account.name ? options.account.gid : null,
        argv,
        uid: options.account.uid,
        gid: options.account.gid,
        env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", HOME: "/" },
        log,
      }),
    ],
    stdin: "null",
    stdout: "piped",
    // systemd-socket-activate says what it does at each start; kept beside the log.
    stderr: "piped",
  }).spawn();
  const said = Deno.openSync(`${options.socketPath}.stderr`, { write: true, create: true });
  child.stderr.pipeTo(said.writable).catch(() => {});
  // Its first line says it listens; the rest of its output is drained, never cut off (a
  // pipe closed under it would end it).
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let first = "";
  while (!first.includes("\n")) {
    const { value, done } = await lines.read();
    if (done) break;
    first += value;
  }
  (async () => {
    while (!(await lines.read()).done);
  })().catch(() => {});
  if (!first.startsWith("listening")) {
    throw new Error(
      `socket stand-in: ${first}${Deno.readTextFileSync(`${options.socketPath}.stderr`)}`,
    );
  }
  return {
    /** The stand-in for PID 1: the service's processes are its children. */
    pid: child.pid,
    /** Every run of the service so far, oldest first. */
    runs(): ServiceRun[] {
      let text = "";
      try {
        text = Deno.readTextFileSync(log);
      } catch {
        return [];
      }
      const runs = new Map<number, ServiceRun>();
      for (const line of text.split("\n").filter(Boolean)) {
        const [what, pid, code, cpu] = line.split(" ");
        if (what === "start") runs.set(Number(pid), { pid: Number(pid) });
        else {Object.assign(runs.get(Number(pid))!, {
            code: Number(code),
            cpuMs: Number(cpu) * 1000,
          });}
      }
      return [...runs.values()];
    },
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGTERM");
      } catch {
        // it ended already
      }
      await child.status;
    },
  };
}

/** The processes whose command line holds `needle`, with their parent and uid (from /proc). */
export function processesWith(needle: string): Array<{ pid: number; ppid: number; uid: number }> {
  const found = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmdline = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`);
      if (!cmdline.split("\0").includes(needle)) continue;
      const status = Deno.readTextFileSync(`/proc/${entry.name}/status`);
      found.push({
        pid: Number(entry.name),
        ppid: Number(/^PPid:\s+(\d+)/m.exec(status)![1]),
        uid: Number(/^Uid:\s+(\d+)/m.exec(status)![1]),
      });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** What /proc says of a process: its uids, supplementary groups and effective capabilities. */
export function credentialsOf(pid: number) {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const field = (name: string) => new RegExp(`^${name}:[ \\t]*(.*)$`, "m").exec(status)![1].trim();
  return {
    uids: field("Uid").split(/\s+/).map(Number),
    groups: field("Groups").split(/\s+/).filter(Boolean).map(Number),
    capEff: field("CapEff"),
    noNewPrivs: field("NoNewPrivs"),
  };
}

/**
 * A systemd host's tattle for a test or the bench: the sender's account,
 * a scenario whose directories are laid out for it, and the service its
 * socket starts. Disposing undoes each step, last first, each on its own:
 * a failing step neither hides the caller's error nor stops the others.
 */
export async function senderServiceHost(config: Record<string, unknown>) {
  const undo: Array<() => Promise<unknown>> = [];
  const dispose = async () => {
    for (const step of undo.splice(0).reverse()) {
      await step().catch((error) => console.log(`  cleanup: ${error}`));
    }
  };
  try {
    const account = await withSenderAccount();
    undo.push(() => account[Symbol.asyncDispose]());
    const s = await scenario({ mode: "background", ...config });
    const disposeScenario = s[Symbol.asyncDispose]; // callers may put theirs on `s`
    undo.push(() => disposeScenario());
    await s.handTo(account);
    const standIn = await writeStandIn(s.home.dir, s.home.access);
    const service = await senderService({
      socketPath: senderSocket({ runtime_dir: s.home.runtimeDir }),
      standIn,
      configPath: s.home.configPath,
      account,
    });
    undo.push(() => service[Symbol.asyncDispose]());
    return { account, s, service, [Symbol.asyncDispose]: dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}
