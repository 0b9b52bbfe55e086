/** Security hardening: untrusted environment, trusted configuration, least privilege, syslog. */

import { BINARY, HAND_INSTALLED_BINARY } from "../lib/config/paths.ts";
import assert from "node:assert/strict";
import { PERMISSION_SET, permissionFlags } from "../lib/cli/permissions.ts";
import { startFakeEventBridge } from "./fakes/eventbridge.ts";
import { FAKE_ROLE, startFakeImds } from "./fakes/imds.ts";
import { scenario } from "./support/scenario.ts";
import { notRoot } from "./support/requires.ts";
import { withSenderAccount } from "./support/sender_account.ts";
import { pamEnv, ROOT, runTattle, senderPids, sharedCacheDir } from "./support/tattle.ts";

const ATTACKER = { accessKeyId: "AKIAATTACKER00000001", secretAccessKey: "attacker-secret" };

/** The attacker's own IMDS and EventBridge, and the variables pointing at them. */
async function attacker() {
  const imds = startFakeImds();
  const events = startFakeEventBridge({
    [ATTACKER.accessKeyId]: ATTACKER.secretAccessKey,
    [FAKE_ROLE.accessKeyId]: FAKE_ROLE.secretAccessKey,
  });
  const dir = await Deno.makeTempDir({ prefix: "tattle-attacker-" });
  await Deno.writeTextFile(
    `${dir}/config`,
    `[profile evil]\nregion = eu-west-1\nendpoint_url = ${events.url}\n`,
  );
  await Deno.writeTextFile(
    `${dir}/credentials`,
    `[evil]\naws_access_key_id = ${ATTACKER.accessKeyId}\naws_secret_access_key = ${ATTACKER.secretAccessKey}\n`,
  );
  const env = {
    AWS_ENDPOINT_URL: events.url,
    AWS_ENDPOINT_URL_EVENTBRIDGE: events.url,
    AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url,
    AWS_CONFIG_FILE: `${dir}/config`,
    AWS_SHARED_CREDENTIALS_FILE: `${dir}/credentials`,
    AWS_PROFILE: "evil",
    AWS_REGION: "eu-west-1",
    AWS_ACCESS_KEY_ID: ATTACKER.accessKeyId,
    AWS_SECRET_ACCESS_KEY: ATTACKER.secretAccessKey,
    HTTPS_PROXY: events.url,
    https_proxy: events.url,
    TATTLE_CONFIG: `${dir}/config`,
  };
  return {
    imds,
    events,
    dir,
    env,
    async [Symbol.asyncDispose]() {
      await imds[Symbol.asyncDispose]();
      await events[Symbol.asyncDispose]();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const notRootToChown = notRoot("the ownership cases need root to chown");

Deno.test("a user's AWS_* and proxy variables cannot redirect the event", async (t) => {
  await t.step("untrusted (default): delivered to the configured endpoint only", async () => {
    await using evil = await attacker();
    await using s = await scenario();
    const result = await s.run(pamEnv(evil.env));
    assert.equal(result.code, 0, result.stderr);
    assert.equal(s.events.received.length, 1);
    assert.deepEqual(s.events.received[0].signedBy, {
      accessKeyId: FAKE_ROLE.accessKeyId,
      region: "us-east-1",
    });
    assert.equal(evil.events.requestCount, 0);
    assert.deepEqual(evil.imds.requests, []);
  });
  await t.step("an endpoint given only by the environment is ignored too", async () => {
    await using evil = await attacker();
    await using s = await scenario();
    await s.setConfig({ endpoint_url: undefined, timeout: 0.5 });
    const result = await s.run(pamEnv(evil.env));
    assert.equal(result.code, 75, "the real endpoint is unreachable here: spooled");
    assert.equal(evil.events.requestCount, 0);
  });
  await t.step(
    "trust_environment: true lets the same variables take effect (the test can fail)",
    async () => {
      await using evil = await attacker();
      await using s = await scenario({ trust_environment: true });
      await s.setConfig({ endpoint_url: undefined });
      await s.run(pamEnv(evil.env));
      assert(evil.events.requestCount > 0, "the attacker's endpoint was used");
    },
  );
});

Deno.test("untrusted configuration paths are refused with exit 78", async (t) => {
  const cases: Array<[string, (s: Awaited<ReturnType<typeof scenario>>) => Promise<void>, RegExp]> =
    [
      [
        "config file writable by others",
        (s) => Deno.chmod(s.home.configPath, 0o666),
        /config file .* is not trusted: .*config.json is writable by group or others; fix with chmod go-w/,
      ],
      [
        "config directory writable by group",
        (s) => Deno.chmod(s.home.dir, 0o770),
        /is not trusted: .*tattle-test-[^/ ]+ is writable by group or others/,
      ],
      [
        "config file owned by another user",
        (s) => Deno.chown(s.home.configPath, 65534, 65534),
        /config file .* is not trusted: .*config.json is owned by uid 65534, not root/,
      ],
      [
        "spool directory writable by others",
        async (s) => {
          await Deno.mkdir(s.home.spoolDir, { mode: 0o700 });
          await Deno.chmod(s.home.spoolDir, 0o777);
        },
        /spool directory .*spool is not trusted: .*spool is writable by group or others/,
      ],
      [
        "runtime directory owned by another user",
        async (s) => {
          await Deno.mkdir(s.home.runtimeDir, { mode: 0o755 });
          await Deno.chown(s.home.runtimeDir, 65534, 65534);
        },
        /runtime directory .*run is not trusted: .*run is owned by uid 65534, not root or tattle/,
      ],
    ];
  for (const [name, arrange, pattern] of cases) {
    await t.step({
      name,
      ignore: name.includes("owned") && notRootToChown,
      fn: async () => {
        await using s = await scenario();
        await arrange(s);
        const result = await s.run();
        assert.equal(result.code, 78, result.stderr);
        assert.match(result.stderr, /^tattle: error: /);
        assert.match(result.stderr, pattern);
        assert.equal(s.events.requestCount, 0);
      },
    });
  }
});

Deno.test("the permission set: no all, no ffi, run only tattle itself and id", () => {
  const names = Object.keys(PERMISSION_SET);
  assert(!names.includes("all") && !names.includes("ffi"), names.join(", "));
  // tattle itself (the detached sender), and coreutils' id (the name service lookup); no
  // setpriv: the runtime checks only the program it starts, and setpriv runs any other.
  // loginctl: the sender's reconciliation reads logind's sessions.
  // Both places tattle is installed: the package's, and hand installs' before it.
  assert.deepEqual(PERMISSION_SET.run, [
    BINARY,
    HAND_INSTALLED_BINARY,
    "/usr/bin/id",
    "/usr/bin/loginctl",
  ]);
  // The spool and state, and for `tattle setup` its config and exactly the PAM file it edits.
  assert.deepEqual(PERMISSION_SET.write, [
    "/var/spool/tattle",
    "/var/lib/tattle",
    "/run/tattle",
    "/etc/tattle",
    "/etc/pam.d/sshd",
    "/etc/pam.d/.sshd.tattle-tmp",
    "/etc/pam.d/sshd.tattle-backup",
    "/etc/pam.d/.sshd.tattle-backup.tattle-tmp",
    // journald's socket (/dev/log links to it): the runtime refuses every /dev path.
    "/run/systemd/journal/dev-log",
  ]);
  // Whole, for Deno.umask alone: Deno 2.9's --allow-sys list has no entry for it.
  assert.equal(PERMISSION_SET.sys, true);
});

Deno.test("the same permission set denies reading /etc/shadow", async () => {
  const probe = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(
    probe,
    `try { await Deno.readTextFile("/etc/shadow"); console.log("read"); }
     catch (e) { console.log(e.name); }`,
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      `--config=${ROOT}deno.json`,
      ...permissionFlags({ read: [probe] }),
      probe,
    ],
    env: { DENO_DIR: await sharedCacheDir() },
    clearEnv: true,
  }).output();
  assert.equal(new TextDecoder().decode(out.stdout).trim(), "NotCapable");
  await Deno.remove(probe);
});

Deno.test("the hook works under exactly the permission set (default paths)", async () => {
  const result = await runTattle(
    ["--dry-run", "--identity", "none", "--region", "us-east-1"],
    pamEnv(),
  );
  assert.equal(result.code, 0, result.stderr);
  assert.equal(JSON.parse(JSON.parse(result.stdout).Detail).username, "alice");
});

Deno.test("credentials, tokens and signatures never appear in output or the spool", async () => {
  await using s = await scenario();
  s.events.fault = "access-denied";
  const result = await s.run(pamEnv(), ["--debug"]);
  assert.equal(result.code, 75);
  const spooled = s.spooled().map((n) => Deno.readTextFileSync(`${s.home.spoolDir}/${n}`)).join();
  for (const text of [result.stdout + result.stderr, spooled]) {
    for (const secret of [FAKE_ROLE.secretAccessKey, FAKE_ROLE.token, "Signature=", "token-"]) {
      assert(!text.includes(secret), `found ${secret}`);
    }
  }
  // The directory keeps everyone but its owner out; the record is for the sender's account.
  assert.equal(Deno.statSync(s.home.spoolDir).mode! & 0o777, 0o700);
  for (const name of s.spooled()) {
    assert.equal(Deno.statSync(`${s.home.spoolDir}/${name}`).mode! & 0o777, 0o644);
  }
});

Deno.test(
  "a session's umask (077, as pam_umask sets on hardened hosts) cannot make records unreadable to the sender's account",
  { ignore: notRoot("the sender runs as the tattle account") },
  async () => {
    await using account = await withSenderAccount();
    await using s = await scenario({ mode: "background" });
    await s.handTo(account);
    await using sender = await s.startSender(["--sender-idle=0"], account);
    await s.until(() => senderPids(s.home.configPath).length === 1);
    await new Promise((r) => setTimeout(r, 500)); // it holds the lock: the hook starts none
    const result = await runTattle(["--config", s.home.configPath], pamEnv(), {
      ...s.home.access,
      under: ["/bin/sh", "-c", 'umask 077 && exec "$0" "$@"'],
    });
    assert.equal(result.code, 0, result.stderr);
    assert(
      await s.until(() => s.deliveredIds().length === 1, 10_000),
      `delivered by the sender running as tattle: ${sender.exited() ? await sender.stderr : ""}`,
    );
    assert.deepEqual([...Deno.readDirSync(`${s.home.spoolDir}/failed`)], [], "none unreadable");
  },
);

Deno.test("failures are logged to syslog (authpriv, tag tattle)", async () => {
  await using s = await scenario();
  const socketPath = `${s.home.dir}/log.sock`;
  const socket = Deno.listenDatagram({ transport: "unixpacket", path: socketPath });
  await s.setConfig({ syslog_socket: socketPath });
  s.events.fault = "500";
  const result = await s.run();
  assert.equal(result.code, 75);
  const [data] = await socket.receive();
  socket.close();
  const message = new TextDecoder().decode(data);
  assert.match(
    message,
    /^<83>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d tattle\[\d+\]: error: event spooled at /,
  );
});

Deno.test("no syslog socket is not an error", async () => {
  await using s = await scenario();
  await s.setConfig({ syslog_socket: `${s.home.dir}/no-such.sock` });
  s.events.fault = "500";
  const result = await s.run();
  assert.equal(result.code, 75);
  assert.equal(result.stderr.trimEnd().split("\n").length, 1);
});

Deno.test("a syslog that cannot be used is said once on stderr", async (t) => {
  await t.step("a socket the permission set does not allow (/dev/log)", async () => {
    await using s = await scenario({ syslog_socket: "/dev/log" });
    s.events.fault = "500";
    const result = await s.run();
    assert.equal(result.code, 75);
    const lines = result.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 2, result.stderr);
    assert.match(
      lines[1],
      /^tattle: warning: syslog at \/dev\/log did not take 1 line\(s\): Requires (read|all) access/,
    );
  });
  await t.step("a path that is not a socket", async () => {
    await using s = await scenario();
    await s.setConfig({ syslog_socket: s.home.configPath });
    s.events.fault = "500";
    const lines = (await s.run()).stderr.trimEnd().split("\n");
    assert.equal(lines.length, 2);
    assert.match(lines[1], /syslog at .*config\.json did not take 1 line\(s\): it is not a socket/);
  });
});

Deno.test("root's hook writes nothing through what the sender's account plants in its spool", {
  ignore: notRoot("the spool belongs to the tattle account"),
}, async () => {
  await using account = await withSenderAccount();
  await using s = await scenario({ mode: "background", sender_idle: 0.01 });
  await s.handTo(account);
  const targets = `${s.home.dir}/targets`;
  await Deno.mkdir(targets);
  await Deno.writeTextFile(`${targets}/existing`, "untouched");
  // Every name root's hook ever looks at or creates there, as links the spool's owner made;
  // the sender lock of old (.lock) too, where an older tattle looked for it.
  const planted = {
    ".sender-starting": `${targets}/created-through-marker`,
    ".lock": `${targets}/created-through-lock`,
    "failed": `${targets}/existing`,
  };
  for (const [name, target] of Object.entries(planted)) {
    await Deno.remove(`${s.home.spoolDir}/${name}`, { recursive: true }).catch(() => {});
    await Deno.symlink(target, `${s.home.spoolDir}/${name}`);
    await new Deno.Command("/bin/chown", {
      args: ["-h", `${account.uid}:${account.gid}`, `${s.home.spoolDir}/${name}`],
    }).output();
  }
  for (const type of ["open_session", "close_session"]) {
    const result = await s.run(pamEnv({ PAM_TYPE: type }));
    assert.equal(result.code, 0, result.stderr);
  }
  assert.deepEqual([...Deno.readDirSync(targets)].map((e) => e.name), ["existing"]);
  assert.equal(await Deno.readTextFile(`${targets}/existing`), "untouched");
  assert.equal(Deno.statSync(`${targets}/existing`).uid, 0, "not handed to anyone");
});
