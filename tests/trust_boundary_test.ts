/**
 * The hook's environment is the PAM environment, which a logging-in user can
 * fill (pam_env's user_readenv): nothing they set may change what tattle
 * reports or what runs as root. Every test runs tattle as a process under
 * the permission set, with an environment built entry by entry the way
 * pam_exec builds it: the PAM environment first, then pam_exec's own items.
 */

import assert from "node:assert/strict";
import { FAKE_ROLE } from "./fakes/imds.ts";
import { scenario, TIMEOUT_S } from "./support/scenario.ts";
import { pamExecItems, sharedCacheDir } from "./support/tattle.ts";

/** What sshd itself puts into the PAM environment for that connection. */
const SSHD_VARIABLES: Array<[string, string]> = [
  ["SSH_CONNECTION", "203.0.113.9 50022 10.0.0.12 22"],
];

/** Copies a user can plant with ~/.pam_environment, ahead of pam_exec's items. */
const FORGED_ITEMS: Array<[string, string]> = [
  ["PAM_USER", "root"],
  ["PAM_RHOST", "10.1.2.3"],
  ["PAM_SERVICE", "cron"],
  ["PAM_TTY", "/dev/console"],
  ["PAM_TYPE", "auth"],
];

Deno.test("forged PAM_* copies change nothing reported, and are named in tamper", async (t) => {
  for (const type of ["open_session", "close_session"]) {
    await t.step(type, async () => {
      await using s = await scenario();
      const result = await s.runWithEntries([
        ...FORGED_ITEMS,
        ...SSHD_VARIABLES,
        ...pamExecItems(type),
      ]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(s.events.received.length, 1, "a PAM_TYPE copy never suppresses the event");
      const { detail } = s.events.received[0];
      assert.equal(detail.username, "alice");
      assert.equal(detail.remote_host, "203.0.113.9");
      assert.equal(detail.service, "sshd");
      assert.equal(detail.tty, "ssh");
      assert.equal(detail.session, type === "open_session" ? "opened" : "closed");
      assert.equal(detail.source_ip, "203.0.113.9");
      assert.deepEqual(detail.tamper, [
        "PAM_RHOST",
        "PAM_SERVICE",
        "PAM_TTY",
        "PAM_TYPE",
        "PAM_USER",
      ]);
    });
  }
});

Deno.test("a copy equal to pam_exec's value is still a copy", async () => {
  await using s = await scenario();
  const result = await s.runWithEntries([["PAM_USER", "alice"], ...pamExecItems()]);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(s.events.received[0].detail.tamper, ["PAM_USER"]);
});

Deno.test("an SSH_CONNECTION that contradicts PAM_RHOST is not reported, and is named", async () => {
  await using s = await scenario();
  const result = await s.runWithEntries([
    ["SSH_CONNECTION", "10.1.2.3 22 10.0.0.12 22"],
    ...pamExecItems(),
  ]);
  assert.equal(result.code, 0, result.stderr);
  const { detail } = s.events.received[0];
  assert.equal(detail.source_ip, undefined);
  assert.equal(detail.source_port, undefined);
  assert.deepEqual(detail.tamper, ["SSH_CONNECTION"]);
});

Deno.test("no tamper field when nobody tampered", async () => {
  await using s = await scenario();
  const result = await s.runWithEntries([...SSHD_VARIABLES, ...pamExecItems()]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(s.events.received[0].detail.tamper, undefined);
  assert.equal(s.events.received[0].detail.source_port, 50022);
});

Deno.test("runtime and loader variables are named in tamper (names only) and have no effect", async () => {
  await using s = await scenario({}, { tls: true });
  const fifo = `${s.home.dir}/fifo`;
  await new Deno.Command("/usr/bin/mkfifo", { args: [fifo] }).output();
  const planted: Array<[string, string]> = [
    ["LD_BIND_NOW", "planted-by-user"],
    ["DENO_CERT", fifo],
    ["DENO_TLS_CA_STORE", "system"],
    ["NODE_EXTRA_CA_CERTS", "/etc/shadow"],
    ["NODE_TLS_REJECT_UNAUTHORIZED", "0"],
    ["NODE_DEBUG", "http,https,net,tls,fetch"],
    ["SSL_CERT_FILE", "/dev/zero"],
    ["OPENSSL_CONF", "/dev/zero"],
    ["https_proxy", "http://127.0.0.1:9"],
    ["HOME", "/home/mallory"],
    ["TZ", fifo],
  ];
  const result = await s.runWithEntries([...planted, ...SSHD_VARIABLES, ...pamExecItems()]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, "", "NODE_DEBUG printed nothing (no token, no request)");
  assert(result.ms < TIMEOUT_S * 1000 + 500, `ended after ${result.ms.toFixed(0)} ms`);
  assert.equal(s.events.received.length, 1, "delivered over HTTPS despite DENO_CERT=fifo");
  const { detail } = s.events.received[0];
  assert.deepEqual(detail.tamper, [
    "DENO_CERT",
    "DENO_TLS_CA_STORE",
    "LD_BIND_NOW",
    "NODE_DEBUG",
    "NODE_EXTRA_CA_CERTS",
    "NODE_TLS_REJECT_UNAUTHORIZED",
    "OPENSSL_CONF",
    "SSL_CERT_FILE",
    "https_proxy",
  ]);
  const sent = JSON.stringify(s.events.received[0]);
  for (const [, value] of planted.filter(([, v]) => v.length > 3)) {
    assert(!sent.includes(value), `value ${value} not reported`);
  }
});

Deno.test("DENO_CERT naming a FIFO, /dev/zero or /etc/shadow cannot stall or grow the hook", async (t) => {
  for (const target of ["fifo", "/dev/zero", "/etc/shadow"]) {
    await t.step(target, async () => {
      await using s = await scenario({}, { tls: true });
      const path = target === "fifo" ? `${s.home.dir}/fifo` : target;
      if (target === "fifo") await new Deno.Command("/usr/bin/mkfifo", { args: [path] }).output();
      const result = await s.runWithEntries([["DENO_CERT", path], ...pamExecItems()]);
      assert.equal(result.code, 0, result.stderr);
      assert(result.ms < TIMEOUT_S * 1000 + 500, `ended after ${result.ms.toFixed(0)} ms`);
      assert.equal(s.events.received.length, 1);
    });
  }
});

Deno.test("the detached sender gets the environment tattle builds, not the hook's", async () => {
  await using s = await scenario({ mode: "background" }, { tls: true });
  const fifo = `${s.home.dir}/fifo`;
  await new Deno.Command("/usr/bin/mkfifo", { args: [fifo] }).output();
  s.events.fault = "hang"; // keeps the sender alive long enough to look at it
  const result = await s.runWithEntries([
    ["DENO_CERT", fifo],
    ["LD_BIND_NOW", "1"],
    ["AWS_ACCESS_KEY_ID", "AKIAATTACKER"],
    ...pamExecItems(),
  ]);
  assert.equal(result.code, 0, result.stderr);
  let environ: string | undefined;
  await s.until(() => (environ = senderEnvironment(s.home.configPath)) !== undefined);
  assert(environ !== undefined, "the sender is running");
  // What the sender was started with (/proc shows the environment at exec): under `deno run`,
  // deno's own two, the cache being the launcher's (the binary gets none at all).
  const started = Object.fromEntries(
    environ.split("\0").filter(Boolean).map((e) => [e.slice(0, e.indexOf("=")), e]),
  );
  assert.deepEqual(Object.keys(started).sort(), ["DENO_DIR", "DENO_NO_UPDATE_CHECK"]);
  assert.equal(started.DENO_DIR, `DENO_DIR=${await sharedCacheDir()}`);
  s.events.fault = "none";
  assert(await s.until(() => s.events.received.length === 1, 10_000), "the sender delivers");
  assert.equal(s.events.received[0].signedBy.accessKeyId, FAKE_ROLE.accessKeyId);
});

/** The environment of the running `tattle sender` for this config, from /proc (the test may). */
function senderEnvironment(configPath: string): string | undefined {
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmdline = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`).split("\0");
      if (cmdline.includes("sender") && cmdline.includes(configPath)) {
        return Deno.readTextFileSync(`/proc/${entry.name}/environ`);
      }
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}
