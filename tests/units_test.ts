/**
 * The systemd units, judged by systemd's own tools, and the sandbox their
 * services declare held against what tattle really does: systemd is not
 * PID 1 here, so the sandbox cannot be switched on, but every system call
 * and socket family a real run makes can be checked against the unit's
 * filters, and the run repeated with /proc as the unit mounts it.
 */

import assert from "node:assert/strict";
import { spoolWrite } from "../lib/delivery/spool.ts";
import { record } from "./support/records.ts";
import { lacks, notRoot } from "./support/requires.ts";
import { scenario } from "./support/scenario.ts";
import { withSenderAccount } from "./support/sender_account.ts";
import { unitSettings } from "./support/sender_service.ts";
import { denoRunArgs, ROOT, sharedCacheDir } from "./support/tattle.ts";

const ANALYZE = "/usr/bin/systemd-analyze";
const exists = (path: string) => {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
};
const UNITS = [...Deno.readDirSync(`${ROOT}contrib/systemd`)].map((e) => e.name).sort();
const SERVICES = UNITS.filter((name) => name.endsWith(".service"));

async function analyze(args: string[]): Promise<{ code: number; out: string }> {
  const out = await new Deno.Command(ANALYZE, { args, stdin: "null" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, out: text };
}

Deno.test("systemd-analyze security --offline=yes: every service's exposure is 2.0 or less", {
  ignore: lacks([ANALYZE], "apt-get install systemd"),
}, async () => {
  for (const name of SERVICES) {
    const { out } = await analyze(["security", "--offline=yes", `${ROOT}contrib/systemd/${name}`]);
    const exposure = /Overall exposure level for \S+: ([\d.]+)/.exec(out);
    assert(exposure, out);
    console.log(`  ${name}: ${exposure[1]}`);
    assert(Number(exposure[1]) <= 2.0, `${name}: exposure ${exposure[1]}\n${out}`);
  }
});

/** Every system call a filter expression names, its groups expanded. */
async function syscallsOf(groups: string[]): Promise<Set<string>> {
  const { out } = await analyze(["syscall-filter"]);
  const members = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of out.split("\n")) {
    if (/^@\S+$/.test(line)) members.set(line, current = []);
    else if (current && /^\s+[@\w]/.test(line) && !line.trim().startsWith("#")) {
      current.push(line.trim());
    }
  }
  const expand = (name: string, into: Set<string>): Set<string> => {
    if (!name.startsWith("@")) return into.add(name);
    for (const member of members.get(name) ?? []) expand(member, into);
    return into;
  };
  const all = new Set<string>();
  for (const group of groups) expand(group, all);
  return all;
}

/**
 * The system calls the service's SystemCallFilter= lines allow: the allow
 * list, less every deny list (a `~` line).
 */
async function allowedSyscalls(unit: Map<string, string>, text: string): Promise<Set<string>> {
  const lines = text.split("\n").filter((l) => l.startsWith("SystemCallFilter="))
    .map((l) => l.slice("SystemCallFilter=".length));
  const allow = await syscallsOf(
    lines.filter((l) => !l.startsWith("~")).flatMap((l) => l.split(" ")),
  );
  const deny = await syscallsOf(
    lines.filter((l) => l.startsWith("~")).flatMap((l) => l.slice(1).split(" ")),
  );
  void unit;
  return new Set([...allow].filter((name) => !deny.has(name)));
}

Deno.test(
  "a real sender's and flush's system calls and sockets are all the units allow, with /proc as they mount it",
  {
    ignore: lacks([ANALYZE, "/usr/bin/strace"], "apt-get install systemd strace") ||
      notRoot("a mount namespace, for /proc as ProcSubset=pid and ProtectProc=invisible"),
  },
  async () => {
    await using account = await withSenderAccount();
    for (const name of ["tattle-sender.service", "tattle-flush.service"]) {
      const text = Deno.readTextFileSync(`${ROOT}contrib/systemd/${name}`);
      const unit = unitSettings(name);
      assert.equal(unit.get("ProcSubset"), "pid");
      assert.equal(unit.get("ProtectProc"), "invisible");
      const allowed = await allowedSyscalls(unit, text);
      const families = new Set(unit.get("RestrictAddressFamilies")!.split(" "));

      // A real send over HTTPS, credentials from IMDS, the identity resolved.
      await using s = await scenario({ mode: "background", sender_idle: 0.01 }, { tls: true });
      await s.handTo(account);
      assert.equal(unit.get("User"), account.name);
      await spoolWrite(
        s.home.spoolDir,
        record(1, { event_id: `traced-${name}`, identity: undefined }),
      );
      const trace = `${s.home.dir}/trace`;
      const command = name === "tattle-sender.service" ? "sender" : "flush";
      // The service as its socket starts it (systemd-socket-activate hands the socket over
      // and execs tattle); the timer's flush as it is.
      const socket = `${s.home.stateDir}/traced.sock`;
      const cache = await sharedCacheDir();
      const activated = command === "sender"
        ? [
          "/usr/bin/systemd-socket-activate",
          "-l",
          socket,
          `--setenv=DENO_DIR=${cache}`,
          "--setenv=DENO_NO_UPDATE_CHECK=1",
          "--",
        ]
        : [];
      const child = new Deno.Command("/usr/bin/unshare", {
        args: [
          "--mount",
          "--propagation=private",
          "/bin/sh",
          "-c",
          'mount -t proc -o subset=pid,hidepid=invisible proc /proc && exec "$0" "$@"',
          "/usr/bin/strace",
          "-f",
          "-qq",
          // As the unit's User= (strace stays root to trace it).
          "-u",
          account.name,
          "-o",
          trace,
          ...activated,
          Deno.execPath(),
          ...denoRunArgs(s.home.access),
          command,
          "--config",
          s.home.configPath,
        ],
        env: { DENO_DIR: cache, DENO_NO_UPDATE_CHECK: "1" },
        clearEnv: true,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(60_000),
      }).spawn();
      if (command === "sender") {
        await s.until(() => exists(socket), 10_000);
        (await Deno.connect({ transport: "unix", path: socket })).close();
      }
      const out = await child.output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      assert.deepEqual(s.deliveredIds(), [`traced-${name}`], `${name}: delivered`);

      // From tattle's start on: systemd-socket-activate's own calls come before its exec.
      const lines = (await Deno.readTextFile(trace)).split("\n");
      const started = lines.findIndex((l) => l.includes(`execve("${Deno.execPath()}"`));
      const calls = lines.slice(started)
        .map((line) => /^\d+\s+([a-z0-9_]+)\(/.exec(line)?.[1])
        .filter((call): call is string => call !== undefined);
      const made = new Set(calls);
      const refused = [...made].filter((call) => !allowed.has(call)).sort();
      assert.deepEqual(refused, [], `${name}: system calls its SystemCallFilter= refuses`);
      const opened = new Set(
        lines.slice(started)
          .map((line) => /\bsocket\((AF_[A-Z0-9]+)/.exec(line)?.[1])
          .filter((family): family is string => family !== undefined),
      );
      const outside = [...opened].filter((family) => !families.has(family));
      assert.deepEqual(outside, [], `${name}: socket families RestrictAddressFamilies= refuses`);
      console.log(
        `  ${name}: ${made.size} system calls, sockets ${[...opened].join(" ")}: allowed`,
      );
    }
  },
);
