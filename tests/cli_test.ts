/** Black-box tests: tattle run as pam_exec runs it, against the fakes. */

import assert from "node:assert/strict";
import { dirname } from "node:path";
import { FAKE_DOCUMENT, FAKE_ROLE } from "./fakes/imds.ts";
import { refusedUrl, startSilentServer } from "./fakes/silent.ts";
import keys from "./fixtures/ssh_keys.json" with { type: "json" };
import { scenario, TIMEOUT_S } from "./support/scenario.ts";
import { pamEnv, type RunResult, runTattle, writeConfig } from "./support/tattle.ts";
import { VERSION } from "../lib/cli/version.ts";

/** Core behaviour is inline delivery: send before exiting. */
const setup = (config: Record<string, unknown> = {}) => scenario(config);

function assertOneErrorLine(result: RunResult, code: number, pattern: RegExp) {
  assert.equal(result.code, code, result.stderr);
  assert.equal(result.stdout, "", "nothing on stdout in hook mode");
  const lines = result.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0], /^tattle: error: /);
  assert.match(lines[0], pattern);
}

function assertWithinDeadline(result: RunResult, timeoutS = TIMEOUT_S) {
  assert(result.ms < timeoutS * 1000 + 500, `ended after ${result.ms.toFixed(0)} ms`);
}

Deno.test("on EC2: identity and role credentials from IMDSv2, one event delivered", async () => {
  await using t = await setup();
  const [key] = keys.keys;
  const result = await t.run(pamEnv({
    SSH_CONNECTION: "203.0.113.9 50022 10.0.0.12 22",
    SSH_AUTH_INFO_0: `publickey ${key.key_type} ${key.blob}\n`,
  }));
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, "");
  assert.equal(result.stderr, "");
  assert.equal(t.events.received.length, 1);
  const [event] = t.events.received;
  assert.deepEqual(event.Resources, [
    `arn:aws:ec2:us-east-1:${FAKE_DOCUMENT.accountId}:instance/${FAKE_DOCUMENT.instanceId}`,
  ]);
  assert.deepEqual(event.signedBy, { accessKeyId: FAKE_ROLE.accessKeyId, region: "us-east-1" });
  assert.equal(event.Source, "com.unbounce.tattle");
  assert.equal(event.DetailType, "SSH connection event detected");
  const { detail } = event;
  assert.equal(detail.username, "alice");
  assert.equal(detail.remote_host, "203.0.113.9");
  assert.equal(detail.session, "opened");
  assert.equal(detail.instance_id, FAKE_DOCUMENT.instanceId);
  assert.equal(detail.source_port, 50022);
  assert.deepEqual(detail.auth, {
    method: "publickey",
    key_type: "ssh-ed25519",
    key_fingerprint: key.fingerprint,
  });
  assert.match(String(detail.event_id), /^[0-9a-f-]{36}$/);
  assert.equal(detail.tattle_version, VERSION);
  assert(t.imds.requests.includes("GET /latest/meta-data/iam/security-credentials/"));
  assert(!t.imds.requests.some((r) => r.includes("//")), t.imds.requests.join(", "));
});

Deno.test("close_session gives a closed event", async () => {
  await using t = await setup();
  const result = await t.run(pamEnv({ PAM_TYPE: "close_session" }));
  assert.equal(result.code, 0, result.stderr);
  assert.equal(t.events.received[0].detail.session, "closed");
});

Deno.test("outside EC2: identity none never calls IMDS", async () => {
  await using t = await setup({
    identity: "none",
    region: "eu-central-1",
    resources: ["arn:aws:ec2:eu-central-1:123456789012:instance/i-static"],
  });
  // Credentials still come from the default chain; the fake IMDS provides them here.
  const result = await t.run();
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(t.events.received[0].Resources, [
    "arn:aws:ec2:eu-central-1:123456789012:instance/i-static",
  ]);
  assert.equal(t.events.received[0].signedBy.region, "eu-central-1");
  assert(!t.imds.requests.some((r) => r.includes("instance-identity")));
});

Deno.test("a PAM_TYPE other than a session is exit 64 with no network call", async () => {
  await using t = await setup();
  for (const type of ["auth", "account", "password", ""]) {
    const result = await t.run(pamEnv({ PAM_TYPE: type }));
    assertOneErrorLine(result, 64, /PAM_TYPE is ".*", not open_session or close_session/);
    assert.match(result.stderr, /session stack/);
  }
  const { PAM_TYPE: _, ...unset } = pamEnv();
  assertOneErrorLine(await t.run(unset), 64, /PAM_TYPE is unset/);
  assert.deepEqual(t.imds.requests, []);
  assert.equal(t.events.requestCount, 0);
});

Deno.test("--dry-run prints the entry and sends nothing", async () => {
  await using t = await setup({ event_bus: "security" });
  const result = await t.run(pamEnv(), ["--dry-run"]);
  assert.equal(result.code, 0, result.stderr);
  const entry = JSON.parse(result.stdout);
  assert.deepEqual(Object.keys(entry).sort(), [
    "Detail",
    "DetailType",
    "EventBusName",
    "Resources",
    "Source",
    "Time",
  ]);
  assert.equal(typeof entry.Detail, "string");
  assert.equal(JSON.parse(entry.Detail).username, "alice");
  assert.equal(new Date(entry.Time).toISOString(), entry.Time);
  assert.equal(t.events.requestCount, 0);
});

Deno.test("--dry-run with IMDS unreachable: exit 69, saying how to run outside EC2", async () => {
  const endpoint = refusedUrl();
  await using t = await setup({ imds_endpoint: endpoint });
  const result = await t.run(pamEnv(), ["--dry-run"]);
  assertOneErrorLine(
    result,
    69,
    new RegExp(`IMDS at ${endpoint} did not answer: connection refused`),
  );
  assert.match(result.stderr, /outside EC2 set "identity": "none" and "region" in the config/);
});

Deno.test("the README's first dry run works on any machine", async () => {
  const result = await runTattle(
    ["--dry-run", "--identity", "none", "--region", "us-east-1"],
    pamEnv({ PAM_USER: "alice", PAM_RHOST: "203.0.113.9" }),
  );
  assert.equal(result.code, 0, result.stderr);
  assert.equal(JSON.parse(JSON.parse(result.stdout).Detail).remote_host, "203.0.113.9");
});

Deno.test("flags win over the config file", async () => {
  await using t = await setup({ source: "from.file" });
  const result = await t.run(pamEnv(), ["--source", "from.flag", "--detail-type", "flagged"]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(t.events.received[0].Source, "from.flag");
  assert.equal(t.events.received[0].DetailType, "flagged");
});

Deno.test("configuration errors are exit 78 naming the file, key and problem", async () => {
  const bad = await writeConfig({ timeout: "soon" });
  const dir = dirname(bad);
  const result = await runTattle(["--config", bad], pamEnv(), { read: [dir] });
  assertOneErrorLine(result, 78, new RegExp(`config file ${bad}: "timeout" must be a number`));
  const missing = await runTattle(["--config", `${dir}/nope.json`], pamEnv(), { read: [dir] });
  assertOneErrorLine(missing, 78, new RegExp(`config file ${dir}/nope.json does not exist`));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a config file outside /etc/tattle is refused with what to do", async () => {
  const path = await writeConfig({});
  const result = await runTattle(["--config", path], pamEnv());
  assertOneErrorLine(
    result,
    78,
    /config file .* is outside what tattle may read \(its permission set.*\): use a path under these; read: \/etc\/tattle, /,
  );
  await Deno.remove(dirname(path), { recursive: true });
});

Deno.test("a bad flag is exit 64", async () => {
  const result = await runTattle(["--frobnicate"], pamEnv());
  assertOneErrorLine(result, 64, /unknown option --frobnicate; usage: tattle \[hook\]/);
});

/** The hook's line for an event spooled after a fault, in inline mode. */
function assertSpooled(result: RunResult, spoolDir: string, reason: RegExp) {
  assertOneErrorLine(
    result,
    75,
    new RegExp(`event spooled at ${spoolDir}/\\d{15}-[0-9a-f-]{36}\\.json for later delivery: `),
  );
  assert.match(result.stderr, reason);
  assertWithinDeadline(result);
}

Deno.test("IMDS faults: spooled (exit 75) within the deadline, saying how to run outside EC2", async (t) => {
  const check = (result: RunResult, spoolDir: string, endpoint: string) => {
    assertSpooled(
      result,
      spoolDir,
      new RegExp(
        `IMDS at ${endpoint} (did not answer|answered HTTP 5|answered HTTP 404|refused an IMDSv2)`,
      ),
    );
    assert.match(result.stderr, /"identity": "none"/);
  };
  await t.step("refused", async () => {
    const endpoint = refusedUrl();
    await using s = await setup({ imds_endpoint: endpoint });
    check(await s.run(), s.home.spoolDir, endpoint);
  });
  await t.step("accepts TCP, never answers", async () => {
    await using silent = startSilentServer();
    await using s = await setup({ imds_endpoint: silent.url });
    check(await s.run(), s.home.spoolDir, silent.url);
  });
  for (const fault of ["hang", "500", "no-document", "no-v2"] as const) {
    await t.step(fault, async () => {
      await using s = await setup();
      s.imds.fault = fault;
      check(await s.run(), s.home.spoolDir, s.imds.url);
      assert.equal(s.events.requestCount, 0);
    });
  }
});

Deno.test("role credentials hanging: spooled within the deadline", async () => {
  await using t = await setup();
  t.imds.fault = "credentials-hang";
  assertSpooled(
    await t.run(),
    t.home.spoolDir,
    /EventBridge at .* did not answer within the 1 s timeout/,
  );
});

Deno.test("EventBridge faults: spooled within the deadline with the error", async (t) => {
  const cases = [
    ["500", /did not answer within|InternalException: HTTP 500/],
    ["throttle", /did not answer within|ThrottlingException: HTTP 400: Rate exceeded/],
    ["access-denied", /did not accept the event: AccessDeniedException: HTTP 400/],
    ["hang", /did not answer within the 1 s timeout/],
  ] as const;
  for (const [fault, pattern] of cases) {
    await t.step(fault, async () => {
      await using s = await setup();
      s.events.fault = fault;
      const result = await s.run();
      assertSpooled(result, s.home.spoolDir, pattern);
      assert.match(result.stderr, new RegExp(`EventBridge at ${s.events.url}`));
    });
  }
  await t.step("refused", async () => {
    await using s = await setup({ endpoint_url: refusedUrl() });
    assertSpooled(await s.run(), s.home.spoolDir, /EventBridge at http:\/\/127\.0\.0\.1:\d+ /);
  });
  await t.step("accepts TCP, never answers", async () => {
    await using silent = startSilentServer();
    await using s = await setup({ endpoint_url: silent.url });
    assertSpooled(await s.run(), s.home.spoolDir, /did not answer within the 1 s timeout/);
  });
});

Deno.test("FailedEntryCount 1 with a permanent error: exit 69, the event moved to failed/", async () => {
  await using t = await setup();
  t.events.fault = "failed-entry";
  t.events.entryErrorCode = "MalformedDetail";
  const result = await t.run();
  assertOneErrorLine(
    result,
    69,
    /event moved to .*\/failed\/\d{15}-[0-9a-f-]+\.json: rejected by EventBridge at http:\/\/127\.0\.0\.1:\d+: MalformedDetail: fake entry failure/,
  );
  const failed = [...Deno.readDirSync(`${t.home.spoolDir}/failed`)].map((e) => e.name);
  assert.equal(failed.length, 2, failed.join(", ")); // the record and its .reason
});

Deno.test("stack traces only with --debug", async () => {
  await using t = await setup();
  t.imds.fault = "no-document";
  const plain = await t.run();
  assert(!plain.stderr.includes("    at "), plain.stderr);
  const debug = await t.run(pamEnv(), ["--debug"]);
  assert.equal(debug.code, 75);
  assert.match(debug.stderr, /^tattle: error: event spooled at .*IMDS at/);
  assert.match(debug.stderr, /\n\s+at /);
  assert(!debug.stderr.includes(FAKE_ROLE.secretAccessKey));
});

Deno.test("PAM values that are not valid UTF-8 still give a valid event", async () => {
  await using t = await setup();
  // Deno.Command takes strings; a lone surrogate is sent as the invalid bytes ED A0 80.
  const result = await t.run(pamEnv({ PAM_USER: "bob\uD800", PAM_RHOST: '"}\\\n' }));
  assert.equal(result.code, 0, result.stderr);
  const { detail } = t.events.received[0];
  assert.match(String(detail.username), /^bob\uFFFD+$/);
  assert.equal(detail.remote_host, '"}\\\n');
});

Deno.test("--version and --help", async () => {
  const version = await runTattle(["--version"], {});
  assert.equal(version.code, 0);
  assert.equal(version.stdout, `tattle ${VERSION}\n`);
  const help = await runTattle(["--help"], {});
  assert.equal(help.code, 0);
  assert.match(help.stdout, /session optional pam_exec.so/);
});

Deno.test("credentials never fall back to IMDSv1, with tattle's provider or the SDK's chain", async (t) => {
  // The SDK gives up on a token after 1 s and would then fall back: a longer budget lets it.
  const timeout = 3;
  const cases = [
    ["identity imds: tattle's instance-role provider", { timeout }],
    ["identity none: the SDK's default chain", { timeout, identity: "none", region: "us-east-1" }],
  ] as const;
  for (const [name, config] of cases) {
    await t.step(name, async () => {
      await using s = await setup(config);
      s.imds.fault = "token-unanswered-v1-open";
      const result = await s.run();
      assert.equal(result.code, 75, result.stderr);
      assertWithinDeadline(result, timeout);
      assert.deepEqual(s.imds.v1Requests, []);
      assert.equal(s.events.received.length, 0);
    });
  }
});

Deno.test("an extra_detail key that tattle now sets itself: events still go, with tattle's value, and a warning", async () => {
  await using s = await setup({ extra_detail: { team: "sec", uid: "0", username: "root" } });
  const result = await s.run(pamEnv({ PAM_USER: "root" }));
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stderr,
    /warning: extra_detail "uid" in .* is left out of events: tattle sets that Detail field itself/,
  );
  assert.match(result.stderr, /warning: extra_detail "username" in /);
  assert.equal(s.events.received.length, 1);
  const { detail } = s.events.received[0];
  assert.equal(detail.team, "sec");
  assert.equal(detail.username, "root");
  assert.equal(detail.uid, 0, "the name service's uid, a number, not the config's string");
});

Deno.test("run by hand: a shell's runtime variables are said as such, not reported as tamper", async () => {
  const shell = {
    NODE_EXTRA_CA_CERTS: "/etc/ssl/extra.pem",
    SSL_CERT_FILE: "/etc/ssl/certs/ca-certificates.crt",
    RUST_BACKTRACE: "1",
  };
  await using s = await scenario();
  const result = await s.run(pamEnv(shell), [
    "--dry-run",
    "--identity",
    "none",
    "--region",
    "us-east-1",
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(JSON.parse(JSON.parse(result.stdout).Detail).tamper, undefined);
  assert.match(
    result.stderr,
    /^tattle: note: run by hand, not by pam_exec: the environment is a shell's, and its runtime variables \(NODE_EXTRA_CA_CERTS, RUST_BACKTRACE, SSL_CERT_FILE\) are not reported as tamper\n$/,
  );
  // The same variables reaching the hook under pam_exec: tamper, named.
  const hook = await s.run(pamEnv(shell));
  assert.equal(hook.code, 0, hook.stderr);
  assert.deepEqual(s.events.received[0].detail.tamper, [
    "NODE_EXTRA_CA_CERTS",
    "RUST_BACKTRACE",
    "SSL_CERT_FILE",
  ]);
  assert.doesNotMatch(hook.stderr, /note/);
});

Deno.test("--dry-run in a terminal prints the entry readably, its Detail as an object", async () => {
  // A pseudo-terminal for tattle's stdout and stderr, as an operator's shell gives it.
  const inPty = [
    "/usr/bin/python3",
    "-c",
    "import pty, sys; sys.exit(pty.spawn(sys.argv[1:]) >> 8)",
  ];
  const result = await runTattle(
    ["--dry-run", "--identity", "none", "--region", "us-east-1"],
    pamEnv(),
    { under: inPty },
  );
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const printed = result.stdout.replaceAll("\r\n", "\n");
  const entry = JSON.parse(printed.slice(printed.indexOf("{")));
  assert.equal(entry.Detail.username, "alice");
  assert.match(printed, /^ {2}"Detail": \{\n {4}"username": "alice",$/m);
});
