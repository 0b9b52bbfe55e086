/**
 * System tests: tattle under real PAM (pamtester, pam_exec.so) and a real
 * sshd on 127.0.0.1, against the fake IMDS and EventBridge.
 *
 * Needs root, pamtester, openssh-server and openssh-client. Outside CI a
 * missing prerequisite skips these tests with the reason; with CI=true it is
 * a failure. The system's /etc/pam.d/sshd is never modified (checked).
 *
 * Run with `deno task test:system`.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { type Scenario, scenario } from "../support/scenario.ts";
import { cacheDir, denoRunArgs } from "../support/tattle.ts";

const SSHD = "/usr/sbin/sshd";
const SERVICE = `sshd-tattle-test`;
const SSHD_LINK = `/usr/local/sbin/${SERVICE}`;
const PAMTESTER_SERVICE = "tattle-pamtester-test";
const USER = "tattle-sys-test";
const SYSTEM_PAM = "/etc/pam.d/sshd";

function missingPrerequisite(): string | undefined {
  if (Deno.uid() !== 0) return "not running as root";
  for (
    const path of [
      "/usr/bin/pamtester",
      SSHD,
      "/usr/bin/ssh",
      "/usr/bin/scp",
      "/usr/bin/ssh-keygen",
    ]
  ) {
    try {
      Deno.statSync(path);
    } catch {
      return `${path} is missing (apt-get install pamtester openssh-server openssh-client)`;
    }
  }
  return undefined;
}

const missing = missingPrerequisite();
if (missing && Deno.env.get("CI") === "true") {
  throw new Error(`system tests cannot run in CI: ${missing}`);
}
if (missing) console.log(`system tests skipped: ${missing}`);

async function sh(program: string, args: string[], options: { check?: boolean } = {}) {
  const out = await new Deno.Command(program, {
    args,
    stdin: "null",
    signal: AbortSignal.timeout(60_000),
  })
    .output();
  const result = {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
  if (options.check !== false && out.code !== 0) {
    throw new Error(`${program} ${args.join(" ")}: exit ${out.code}: ${result.stderr}`);
  }
  return result;
}

function sha256(path: string): string {
  try {
    return createHash("sha256").update(Deno.readFileSync(path)).digest("hex");
  } catch {
    return "absent";
  }
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** The launcher pam_exec runs: absolute paths, a fixed DENO_DIR, the permission set. */
async function writeLauncher(s: Scenario): Promise<string> {
  const path = `${s.home.dir}/tattle-launcher`;
  const argv = [Deno.execPath(), ...denoRunArgs(s.home.access)].map((a) => `'${a}'`).join(" ");
  const script = `#!/bin/sh
# pam_exec gives no PATH and no HOME: everything is absolute.
DENO_DIR='${await cacheDir()}' exec ${argv} "$@"
`;
  await Deno.writeTextFile(path, script, { mode: 0o755 });
  await Deno.chmod(path, 0o755);
  return path;
}

function pamLine(launcher: string, s: Scenario): string {
  return `session optional pam_exec.so ${launcher} --config ${s.home.configPath}\n`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

Deno.test({
  name: "system: pamtester and a real sshd",
  ignore: missing !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const systemPamBefore = sha256(SYSTEM_PAM);
    await using s = await scenario({ mode: "inline", timeout: 2 });
    const launcher = await writeLauncher(s);
    const port = freePort();
    const pidFile = `${s.home.dir}/sshd.pid`;
    const userKey = `${s.home.dir}/user_key`;
    const cleanups: Array<() => Promise<unknown>> = [];
    try {
      await t.step("pamtester: open_session and close_session give two events", async () => {
        await Deno.writeTextFile(`/etc/pam.d/${PAMTESTER_SERVICE}`, pamLine(launcher, s));
        cleanups.push(() => Deno.remove(`/etc/pam.d/${PAMTESTER_SERVICE}`));
        await sh("/usr/bin/pamtester", [
          "-I",
          "rhost=203.0.113.9",
          "-I",
          "tty=ssh",
          PAMTESTER_SERVICE,
          "root",
          "open_session",
          "close_session",
        ]);
        const details = s.events.received.map((e) => e.detail);
        assert.deepEqual(details.map((d) => d.session), ["opened", "closed"]);
        for (const d of details) {
          assert.equal(d.username, "root");
          assert.equal(d.remote_host, "203.0.113.9");
          assert.equal(d.service, PAMTESTER_SERVICE);
          assert.equal(d.tty, "ssh");
        }
        assert.notEqual(details[0].event_id, details[1].event_id);
        assert.equal(
          typeof details[1].duration_seconds,
          "number",
          "same pamtester process: duration",
        );
      });

      // A test user with an ed25519 key, and sshd through a symlink so PAM uses its own service.
      await sh("/usr/sbin/useradd", ["-m", "-s", "/bin/sh", USER], { check: false });
      cleanups.push(() => sh("/usr/sbin/userdel", ["-r", USER], { check: false }));
      for (const key of [userKey, `${s.home.dir}/host_key`, `${s.home.dir}/wrong_key`]) {
        await sh("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
      }
      const sshDir = `/home/${USER}/.ssh`;
      await Deno.mkdir(sshDir, { recursive: true, mode: 0o700 });
      await Deno.copyFile(`${userKey}.pub`, `${sshDir}/authorized_keys`);
      await sh("/bin/chown", ["-R", `${USER}:`, sshDir]);
      await Deno.mkdir("/run/sshd", { recursive: true, mode: 0o755 });
      await Deno.writeTextFile(
        `${s.home.dir}/sshd_config`,
        [
          `Port ${port}`,
          "ListenAddress 127.0.0.1",
          `HostKey ${s.home.dir}/host_key`,
          `PidFile ${pidFile}`,
          "UsePAM yes",
          "PasswordAuthentication no",
          "KbdInteractiveAuthentication no",
          "Subsystem sftp /usr/lib/openssh/sftp-server",
          "",
        ].join("\n"),
      );
      const stack = await Deno.readTextFile(SYSTEM_PAM);
      const setPam = (line: string) => Deno.writeTextFile(`/etc/pam.d/${SERVICE}`, stack + line);
      await setPam(pamLine(launcher, s));
      cleanups.push(() => Deno.remove(`/etc/pam.d/${SERVICE}`));
      await Deno.remove(SSHD_LINK).catch(() => {});
      await Deno.symlink(SSHD, SSHD_LINK);
      cleanups.push(() => Deno.remove(SSHD_LINK));
      await sh(SSHD_LINK, ["-f", `${s.home.dir}/sshd_config`, "-E", `${s.home.dir}/sshd.log`]);
      cleanups.push(async () => {
        const pid = Number(await Deno.readTextFile(pidFile).catch(() => "0"));
        if (pid > 0) Deno.kill(pid, "SIGTERM");
      });
      await s.until(() => {
        try {
          return Deno.statSync(pidFile).isFile;
        } catch {
          return false;
        }
      });

      const sshArgs = (key = userKey) => [
        "-i",
        key,
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
      const ssh = (command: string[], key?: string, extra: string[] = []) =>
        sh("/usr/bin/ssh", [...sshArgs(key), ...extra, `${USER}@127.0.0.1`, ...command], {
          check: false,
        });
      const newEvents = async (before: number, count: number) => {
        await s.until(() => s.events.received.length >= before + count, 10_000);
        return s.events.received.slice(before).map((e) => e.detail);
      };
      const { stdout: fingerprintLine } = await sh("/usr/bin/ssh-keygen", [
        "-l",
        "-E",
        "sha256",
        "-f",
        userKey,
      ]);
      const fingerprint = fingerprintLine.split(" ")[1];

      await t.step(
        "ssh user@127.0.0.1: one opened, one closed, with the connection and key",
        async () => {
          const before = s.events.received.length;
          const result = await ssh(["sh", "-c", "'echo $SSH_CONNECTION'"]);
          assert.equal(result.code, 0, result.stderr);
          const clientPort = Number(result.stdout.trim().split(" ")[1]);
          const details = await newEvents(before, 2);
          assert.deepEqual(details.map((d) => d.session), ["opened", "closed"]);
          for (const d of details) {
            assert.equal(d.username, USER);
            assert.equal(d.remote_host, "127.0.0.1");
            assert.equal(d.source_ip, "127.0.0.1");
            assert.equal(d.source_port, clientPort);
            assert.equal(d.service, SERVICE);
            assert.deepEqual(d.auth, {
              method: "publickey",
              key_type: "ssh-ed25519",
              key_fingerprint: fingerprint,
            });
          }
          assert.equal(typeof details[1].duration_seconds, "number");
        },
      );

      await t.step(
        "ssh true, ssh -tt and scp each give exactly one opened and one closed",
        async () => {
          const runs: Array<[string, () => Promise<{ code: number; stderr: string }>]> = [
            ["ssh true", () => ssh(["true"])],
            ["ssh -tt", () => ssh(["true"], undefined, ["-tt"])],
            ["scp", () =>
              sh("/usr/bin/scp", [
                ...sshArgs().map((a) => a === "-p" ? "-P" : a),
                `${userKey}.pub`,
                `${USER}@127.0.0.1:/tmp/tattle-scp-test`,
              ], { check: false })],
          ];
          for (const [name, run] of runs) {
            const before = s.events.received.length;
            const result = await run();
            assert.equal(result.code, 0, `${name}: ${result.stderr}`);
            const details = await newEvents(before, 2);
            await new Promise((r) => setTimeout(r, 200)); // nothing more arrives
            assert.deepEqual(s.events.received.slice(before).map((e) => e.detail.session), [
              "opened",
              "closed",
            ], name);
            assert.equal(details[0].username, USER);
          }
          await Deno.remove("/tmp/tattle-scp-test").catch(() => {});
        },
      );

      await t.step("a failed authentication gives no event", async () => {
        const before = s.events.received.length;
        const result = await ssh(["true"], `${s.home.dir}/wrong_key`);
        assert.notEqual(result.code, 0);
        await new Promise((r) => setTimeout(r, 500));
        assert.equal(s.events.received.length, before);
      });

      await t.step(
        "EventBridge hanging: logins stay bounded; flush delivers exactly once",
        async () => {
          s.events.fault = "hang";
          const timeout = 2;
          const before = s.events.received.length;
          let started = performance.now();
          assert.equal((await ssh(["true"])).code, 0);
          const inlineMs = performance.now() - started;
          assert(
            inlineMs < 2 * (timeout + 1) * 1000,
            `inline login took ${inlineMs.toFixed(0)} ms`,
          );

          await s.setConfig({ mode: "background" });
          started = performance.now();
          assert.equal((await ssh(["true"])).code, 0);
          const backgroundMs = performance.now() - started;
          assert(
            backgroundMs < timeout * 1000,
            `background login took ${backgroundMs.toFixed(0)} ms`,
          );
          console.log(
            `  hanging EventBridge: inline login ${inlineMs.toFixed(0)} ms, background ${
              backgroundMs.toFixed(0)
            } ms`,
          );

          s.events.fault = "none";
          const flush = await sh(launcher, ["flush", "--config", s.home.configPath], {
            check: false,
          });
          assert.equal(flush.code, 0, flush.stderr + flush.stdout);
          await s.until(() => s.events.received.length >= before + 4, 10_000);
          const ids = s.events.received.slice(before).map((e) => e.detail.event_id);
          assert.equal(ids.length, 4, "two logins, two events each");
          assert.equal(new Set(ids).size, 4);
          await s.setConfig({ mode: "inline" });
        },
      );

      await t.step("login latency (figures, not assertions)", async () => {
        const measure = async () => {
          const times = [];
          for (let i = 0; i < 10; i++) {
            const started = performance.now();
            await ssh(["true"]);
            times.push(performance.now() - started);
          }
          return median(times);
        };
        await setPam("");
        const none = await measure();
        await setPam(pamLine(launcher, s));
        await s.setConfig({ mode: "inline" });
        const inline = await measure();
        await s.setConfig({ mode: "background" });
        const background = await measure();
        console.log(
          `  ssh true, median of 10: no hook ${none.toFixed(0)} ms, ` +
            `tattle inline ${inline.toFixed(0)} ms, tattle background ${background.toFixed(0)} ms`,
        );
      });
    } finally {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
      assert.equal(
        sha256(SYSTEM_PAM),
        systemPamBefore,
        "/etc/pam.d/sshd is byte-for-byte unchanged",
      );
    }
  },
});
