/**
 * System test: the Debian package with real dpkg, on a throwaway copy of
 * this machine (tests/system/overlay.ts), through its whole life: install,
 * `tattle setup --pam`, logins through a real sshd whose stack is this
 * machine's /etc/pam.d/sshd, an upgrade while a session is open and logins
 * go on, removal and purge.
 *
 * The package is built by `deno task package` around the test's stand-in
 * (tests/support/stand_in.ts: it runs this checkout under the permission
 * set), because the compiled binary cannot be built here: `deno compile`
 * needs its runtime from dl.deno.land.
 *
 * Run with `deno task test:system` (root; CI installs the packages).
 */

import assert from "node:assert/strict";
import { startFakeEventBridge } from "../fakes/eventbridge.ts";
import { FAKE_ROLE, startFakeImds } from "../fakes/imds.ts";
import { VERSION } from "../../lib/cli/version.ts";
import { ROOT, sharedCacheDir } from "../support/tattle.ts";
import {
  Cleanups,
  createUser,
  prerequisites,
  sh,
  sshClientOptions,
  type TestUser,
  writeSshdConfig,
  writeStandIn,
} from "./host.ts";
import { type OverlayHost, overlayHost } from "./overlay.ts";

const missing = prerequisites() ??
  (() => {
    try {
      Deno.statSync("/usr/bin/dpkg-deb");
      return undefined;
    } catch {
      return "dpkg-deb is missing (apt-get install dpkg)";
    }
  })();

const ARCH = Deno.build.arch === "x86_64" ? "amd64" : "arm64";
const UPGRADE = `${VERSION}+test1`;

/** Builds the package around `binary` with the project's own task; returns its path. */
async function buildPackage(binary: string, version: string, out: string): Promise<string> {
  const built = await sh("deno", [
    "task",
    "--quiet",
    "package",
    "--binary",
    binary,
    "--version",
    version,
    "--maintainer",
    "tattle tests <tests@example.org>",
    "--out",
    out,
  ]);
  assert.match(built.stdout, /built /);
  return `${out}/tattle_${version}_${ARCH}.deb`;
}

/** Events the fake took for `user`: opens and closes, and whether any was taken twice. */
function eventsOf(events: ReturnType<typeof startFakeEventBridge>, user: string) {
  const mine = events.received.filter((e) => e.detail.username === user);
  const ids = mine.map((e) => String(e.detail.event_id));
  return {
    opened: mine.filter((e) => e.detail.session === "opened").length,
    closed: mine.filter((e) => e.detail.session === "closed").length,
    unique: new Set(ids).size === ids.length,
  };
}

async function until(check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!(await check()) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  return await check();
}

/** Starts sshd inside, on 127.0.0.1, with the copy's own /etc/pam.d/sshd (service "sshd"). */
async function startSshd(host: OverlayHost, dir: string): Promise<number> {
  const { port, config } = await writeSshdConfig(dir, "sshd");
  await host.run("/bin/mkdir", ["-p", "/run/sshd"]);
  await host.run("/usr/sbin/sshd", ["-f", config, "-E", `${dir}/sshd.log`]);
  return port;
}

function ssh(user: TestUser, port: number, command: string[], stdin: "null" | "piped" = "null") {
  return new Deno.Command("/usr/bin/ssh", {
    args: [
      ...sshClientOptions(user, port),
      `${user.name}@127.0.0.1`,
      ...command,
    ],
    stdin,
    stdout: "piped",
    stderr: "piped",
  });
}

/** Record files in the copy's spool. */
function spooled(host: OverlayHost): string[] {
  try {
    return [...Deno.readDirSync(host.path("/var/spool/tattle"))].map((e) => e.name)
      .filter((name) => /^\d{15}-.*\.json$/.test(name));
  } catch {
    return [];
  }
}

/** Processes of the tattle account inside the copy that run `tattle sender`. */
function senders(host: OverlayHost, uid: number): number[] {
  const namespace = Deno.readLinkSync(`/proc/${host.pid}/ns/mnt`);
  return [...Deno.readDirSync("/proc")].filter((e) => /^\d+$/.test(e.name)).map((e) =>
    Number(e.name)
  ).filter((pid) => {
    try {
      return Deno.readLinkSync(`/proc/${pid}/ns/mnt`) === namespace &&
        Deno.statSync(`/proc/${pid}`).uid === uid &&
        Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").includes("sender");
    } catch {
      return false;
    }
  });
}

Deno.test({
  name:
    "system: the .deb with real dpkg: install, setup, logins, an upgrade during a session, remove, purge",
  ignore: missing !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "tattle-package-" });
    await Deno.chmod(dir, 0o755);
    const out = `${ROOT}dist/test-package-${Deno.pid}`;
    const cleanups = new Cleanups();
    cleanups.add(() => Deno.remove(dir, { recursive: true }));
    cleanups.add(() => Deno.remove(out, { recursive: true }));
    await using imds = startFakeImds();
    await using events = startFakeEventBridge({
      [FAKE_ROLE.accessKeyId]: FAKE_ROLE.secretAccessKey,
    });
    try {
      await Deno.mkdir(`${dir}/stand-in`);
      const standIn = await writeStandIn(`${dir}/stand-in`, {});
      const first = await buildPackage(standIn, VERSION, out);
      const upgrade = await buildPackage(standIn, UPGRADE, out);
      // Made before the copy, so the copy knows the user; sshd and PAM run inside it.
      const user = await createUser("pkg-alice", dir, cleanups);
      await using host = await overlayHost(`${dir}/overlay`);
      if ((await host.run("getent", ["passwd", "tattle"], { check: false })).code === 0) {
        await host.run("userdel", ["tattle"]); // this machine's, left by a test: not the copy's
      }
      // A machine tattle was never installed on: what other tests left here is not the copy's.
      await host.run("rm", [
        "-rf",
        "/etc/tattle",
        "/var/spool/tattle",
        "/var/lib/tattle",
        "/run/tattle",
      ]);
      const pamBefore = await Deno.readFile(host.path("/etc/pam.d/sshd"));
      const changedBefore = new Set(host.changed());
      // Each step needs the one before: after a failure the rest would only add noise.
      let failed = false;
      const step = async (name: string, fn: () => Promise<void>) => {
        if (!failed) failed = !(await t.step(name, fn));
      };

      await step(
        "install: the account, the directories, the units enabled; PAM untouched",
        async () => {
          await host.run("dpkg", ["-i", first]);
          assert.equal((await host.run("id", ["-un", "tattle"])).stdout.trim(), "tattle");
          const uid = Number((await host.run("id", ["-u", "tattle"])).stdout.trim());
          for (const path of ["/var/spool/tattle", "/var/lib/tattle"]) {
            assert.equal(Deno.statSync(host.path(path)).uid, uid, `${path} is tattle's`);
          }
          assert.equal(Deno.statSync(host.path("/run/tattle")).uid, 0);
          for (
            const link of [
              "/etc/systemd/system/sockets.target.wants/tattle-sender.socket",
              "/etc/systemd/system/timers.target.wants/tattle-flush.timer",
            ]
          ) {
            assert(Deno.lstatSync(host.path(link)).isSymlink, `${link} enabled`);
          }
          assert.deepEqual(await Deno.readFile(host.path("/etc/pam.d/sshd")), pamBefore);
          assert(Deno.statSync(host.path("/usr/share/man/man8/tattle.8.gz")).isFile, "man tattle");
        },
      );

      // The operator points the conffile at this test's fakes, then adds the PAM line.
      const config = JSON.parse(await Deno.readTextFile(host.path("/etc/tattle/config.json")));
      const edited = `${
        JSON.stringify(
          {
            ...config,
            mode: "background",
            imds_endpoint: imds.url,
            endpoint_url: events.url,
            timeout: 2,
          },
          null,
          2,
        )
      }\n`;
      await Deno.writeTextFile(host.path("/etc/tattle/config.json"), edited);
      const tattle = (args: string[]) => host.run("/usr/sbin/tattle", args, { check: false });
      const setup = await tattle(["setup", "--pam", "--disable-user-readenv"]);
      assert.equal(setup.code, 0, setup.stderr);
      assert.match(setup.stdout, /added to \/etc\/pam\.d\/sshd: .* -- \/usr\/sbin\/tattle /);
      const pamAfterSetup = await Deno.readTextFile(host.path("/etc/pam.d/sshd"));
      const port = await startSshd(host, dir);

      await step("a login through the stock stack: its events arrive", async () => {
        const login = await ssh(user, port, ["true"]).output();
        assert.equal(login.code, 0, new TextDecoder().decode(login.stderr));
        assert(
          await until(() => eventsOf(events, user.name).closed === 1, 30_000),
          `events: ${JSON.stringify(eventsOf(events, user.name))}`,
        );
        assert.equal(eventsOf(events, user.name).opened, 1);
      });

      await step(
        "upgrade while a session is open and logins go on: nothing lost, once each",
        async () => {
          const uid = Number((await host.run("id", ["-u", "tattle"])).stdout.trim());
          const oldSenders = senders(host, uid);
          assert(oldSenders.length > 0, "the first version's sender is still there (sender_idle)");
          const session = ssh(user, port, ["read", "line"], "piped").spawn();
          assert(await until(() => eventsOf(events, user.name).opened === 2, 30_000), "open");
          // EventBridge down: what follows waits in the spool, across the upgrade.
          events.fault = "500";
          let logins = 0;
          let failed = 0;
          let upgrading = true;
          const during = (async () => {
            while (upgrading) {
              const login = await ssh(user, port, ["true"]).output();
              if (login.code === 0) logins++;
              else failed++;
            }
          })();
          await new Promise((r) => setTimeout(r, 500));
          const upgraded = await host.run("dpkg", ["-i", upgrade]);
          upgrading = false;
          await during;
          assert.equal(failed, 0, "every login during the upgrade worked");
          assert(logins > 0, "logins ran during the upgrade");
          assert.equal(upgraded.code, 0);
          assert.equal(
            (await host.run("dpkg-query", ["-W", "-f=${Version}", "tattle"])).stdout,
            UPGRADE,
          );
          assert.equal(
            await Deno.readTextFile(host.path("/etc/tattle/config.json")),
            edited,
            "the operator's config kept",
          );
          assert.equal(await Deno.readTextFile(host.path("/etc/pam.d/sshd")), pamAfterSetup);
          for (const pid of oldSenders) {
            assert(!senders(host, uid).includes(pid), `the old sender ${pid} left`);
          }
          assert(spooled(host).length > 0, "events wait in the spool");
          // EventBridge back; the open session ends.
          events.fault = "none";
          const writer = session.stdin.getWriter();
          await writer.write(new TextEncoder().encode("done\n"));
          await writer.close();
          assert.equal((await session.output()).code, 0);
          const sessions = 2 + logins;
          const all = () => eventsOf(events, user.name).closed === sessions;
          // The close's hook wakes a sender; a sender still backing off from the outage may hold
          // the spool a while, and then the timer's flush (cron's, without systemd) sends.
          if (!await until(all, 20_000)) await tattle(["flush"]);
          assert(
            await until(all, 30_000),
            `${sessions} sessions; events: ${JSON.stringify(eventsOf(events, user.name))}`,
          );
          const seen = eventsOf(events, user.name);
          assert.equal(seen.opened, sessions);
          assert(seen.unique, "no event twice");
          assert(
            await until(() => spooled(host).length === 0, 10_000),
            `the spool emptied: ${
              spooled(host).map((name) =>
                Deno.readTextFileSync(host.path(`/var/spool/tattle/${name}`))
              )
            }`,
          );
        },
      );

      await step("remove: the PAM stack as before install, the spool kept", async () => {
        events.fault = "500";
        const login = await ssh(user, port, ["true"]).output();
        assert.equal(login.code, 0);
        assert(await until(() => spooled(host).length === 2, 20_000), "two events spooled");
        const waiting = spooled(host);
        await host.run("dpkg", ["-r", "tattle"]);
        assert.deepEqual(await Deno.readFile(host.path("/etc/pam.d/sshd")), pamBefore);
        assert.deepEqual(spooled(host).sort(), waiting.sort(), "spooled events kept");
        assert.equal(await Deno.readTextFile(host.path("/etc/tattle/config.json")), edited);
        assert.throws(() => Deno.statSync(host.path("/usr/sbin/tattle")));
        const uid = Number((await host.run("id", ["-u", "tattle"])).stdout.trim());
        assert.deepEqual(senders(host, uid), [], "no sender left running");
        const after = await ssh(user, port, ["true"]).output();
        assert.equal(after.code, 0, "logins still work");
      });

      await step("purge: nothing of tattle is left", async () => {
        await host.run("dpkg", ["-P", "tattle"]);
        assert.notEqual((await host.run("dpkg", ["-L", "tattle"], { check: false })).code, 0);
        assert.notEqual((await host.run("getent", ["passwd", "tattle"], { check: false })).code, 0);
        assert.notEqual((await host.run("getent", ["group", "tattle"], { check: false })).code, 0);
        const cache = await sharedCacheDir(); // the stand-in's Deno cache: the test's own
        const left = host.changed().filter((path) =>
          !changedBefore.has(path) && /tattle/.test(path) && !path.startsWith(cache)
        );
        assert.deepEqual(left, [], "no file of tattle's anywhere under /etc, /usr, /var or /run");
        assert.deepEqual(await Deno.readFile(host.path("/etc/pam.d/sshd")), pamBefore);
      });
    } finally {
      await cleanups.run();
    }
  },
});
