import { BINARY } from "../lib/config/paths.ts";
import assert from "node:assert/strict";
import { FAKE_DOCUMENT } from "./fakes/imds.ts";
import { refusedUrl, startSilentServer } from "./fakes/silent.ts";
import { startFakeEventBridge } from "./fakes/eventbridge.ts";
import { scenario } from "./support/scenario.ts";
import { tattleLine } from "../lib/setup/pam_line.ts";
import { MARKER } from "../lib/setup/pam_stack.ts";
import { lacks, notRoot } from "./support/requires.ts";
import { runTattle, WITHOUT_NAME_SERVICE } from "./support/tattle.ts";
import { closeImdsToOthers } from "./support/imds_firewall.ts";
import { withSenderAccount } from "./support/sender_account.ts";

/** A sshd stack as `tattle setup --pam` leaves it, under `root`. */

/** The doctor scenario makes the tattle account and loads an nftables rule. */
const NOT_ROOT = notRoot("doctor's tests make the tattle account and an nftables rule");
const NO_STOCK_STACK = lacks(
  ["/etc/pam.d/sshd"],
  "apt-get install openssh-server: this machine's stock stack",
);
async function goodPamStack(
  root: string,
  sshd = `@include common-session\n${MARKER}\n${
    tattleLine(BINARY, "/etc/tattle/config.json")
  }\nsession required pam_env.so\n`,
) {
  await Deno.mkdir(`${root}/etc/pam.d`, { recursive: true });
  await Deno.writeTextFile(`${root}/etc/pam.d/sshd`, sshd);
  await Deno.writeTextFile(`${root}/etc/pam.d/common-session`, "session required pam_unix.so\n");
}

/**
 * A host as setup and the package leave it: the tattle account owns the
 * spool and the state, and IMDS is closed to other accounts
 * (contrib/nftables/tattle-imds.nft).
 */
async function doctorScenario(
  config: Record<string, unknown> = {},
  under?: string[],
  { imdsOpen = false } = {},
) {
  const s = await scenario(config);
  const account = await withSenderAccount();
  await s.handTo(account);
  const firewall = imdsOpen ? undefined : await closeImdsToOthers(Number(new URL(s.imds.url).port));
  const root = `${s.home.dir}/root`;
  await goodPamStack(root);
  const doctor = (...args: string[]) =>
    runTattle(
      ["doctor", "--config", s.home.configPath, "--root", root, ...args],
      {},
      { ...s.home.access, under },
    );
  const disposeScenario = s[Symbol.asyncDispose];
  return Object.assign(s, {
    doctor,
    root,
    async [Symbol.asyncDispose]() {
      await firewall?.[Symbol.asyncDispose]();
      await account[Symbol.asyncDispose]();
      await disposeScenario();
    },
  });
}

const LINE = /^([✓✗-]) ([a-zA-Z ]+): (.*?)(?: \((\d+) ms\))?$/;

function lines(stdout: string) {
  return stdout.trimEnd().split("\n").filter((l) => !l.startsWith("  what to do"));
}

Deno.test("doctor: every check passes against healthy fakes, in order, with timings", {
  ignore: NOT_ROOT,
}, async () => {
  await using s = await doctorScenario();
  const result = await s.doctor();
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const rows = lines(result.stdout).map((l) => LINE.exec(l));
  assert.deepEqual(rows.map((r) => r?.[1]), ["✓", "✓", "✓", "✓", "✓", "✓", "✓", "✓", "✓"]);
  assert.deepEqual(rows.map((r) => r?.[2]), [
    "config",
    "sender",
    "ignore rules",
    "name service",
    "PAM stack",
    "identity",
    "IMDS for other accounts",
    "credentials",
    "EventBridge endpoint",
  ]);
  assert.match(result.stdout, /✓ sender: hooks start it as tattle \(uid \d+\)/);
  assert.match(
    result.stdout,
    /✓ IMDS for other accounts: nobody \(uid 65534\) gets no role credentials: did not answer: /,
  );
  assert.match(
    result.stdout,
    new RegExp(
      `token accepted, instance ${FAKE_DOCUMENT.instanceId}, region us-east-1, partition aws`,
    ),
  );
  assert.match(result.stdout, /✓ ignore rules: none: every session is reported/);
  assert.match(result.stdout, /✓ name service: \/usr\/bin\/id: root is uid 0, groups .*root/);
  assert.match(result.stdout, /credentials: from EC2 instance role \(IMDS\) \(access key …0001\)/);
  assert(!result.stdout.includes("fake/role/secret"), "never the secret");
  assert.equal(s.events.received.length, 0, "no event without --send-test");
});

Deno.test("doctor: IMDS open to every account is a failed check naming the risk and the fix", {
  ignore: NOT_ROOT,
}, async () => {
  await using s = await doctorScenario({}, undefined, { imdsOpen: true });
  const result = await s.doctor();
  assert.equal(result.code, 69, result.stdout);
  const rows = lines(result.stdout).map((l) => LINE.exec(l)!);
  assert.deepEqual(rows.filter((r) => r[1] === "✗").map((r) => r[2]), [
    "IMDS for other accounts",
  ]);
  assert.match(
    result.stdout,
    /✗ IMDS for other accounts: nobody \(uid 65534\) got the instance role's credentials from IMDS at http:\/\/127\.0\.0\.1:\d+: any local user can publish events as tattle/,
  );
  assert.match(
    result.stdout,
    /what to do: let only root and tattle reach 169\.254\.169\.254: load contrib\/nftables\/tattle-imds\.nft/,
  );
  assert(!result.stdout.includes("fake/role/secret"), "never the secret");
});

Deno.test("doctor lists the active ignore rules, and says the security team cannot see them", {
  ignore: NOT_ROOT,
}, async () => {
  await using s = await doctorScenario({ ignore: { users: ["ansible"], groups: ["ci"] } });
  const result = await s.doctor();
  assert.equal(result.code, 0, result.stdout);
  assert.match(
    result.stdout,
    /✓ ignore rules: users "ansible"; groups "ci": these sessions are not reported, and the security team cannot see that/,
  );
});

Deno.test("doctor --send-test sends one event with session test and prints its EventId", {
  ignore: NOT_ROOT,
}, async () => {
  await using s = await doctorScenario();
  const result = await s.doctor("--send-test");
  assert.equal(result.code, 0, result.stdout);
  assert.match(result.stdout, /✓ test event: sent, EventId [0-9a-f-]{36}/);
  assert.equal(s.events.received.length, 1);
  assert.equal(s.events.received[0].detail.session, "test");
});

Deno.test(
  "doctor: each check failing in turn says what to do, skips what needs it, exits non-zero",
  { ignore: NOT_ROOT },
  async (t) => {
    const cases: Array<
      [string, (s: Awaited<ReturnType<typeof doctorScenario>>) => Promise<void> | void, string]
    > = [
      ["config", (s) => s.setConfig({ timeout: "soon" }), "config"],
      [
        "PAM stack",
        (s) => goodPamStack(s.root, "@include common-session\nsession required pam_env.so\n"),
        "PAM stack",
      ],
      ["identity", (s) => void (s.imds.fault = "no-document"), "identity"],
      ["credentials", (s) => void (s.imds.fault = "credentials-hang"), "credentials"],
      [
        "EventBridge endpoint",
        (s) => s.setConfig({ endpoint_url: refusedUrl() }),
        "EventBridge endpoint",
      ],
    ];
    for (const [name, arrange, failing] of cases) {
      await t.step(name, async () => {
        await using s = await doctorScenario();
        await arrange(s);
        const result = await s.doctor();
        assert.notEqual(result.code, 0);
        const rows = lines(result.stdout).map((l) => LINE.exec(l)!);
        const failed = rows.filter((r) => r[1] === "✗").map((r) => r[2]);
        assert.deepEqual(failed, [failing], result.stdout);
        const index = rows.findIndex((r) => r[1] === "✗");
        assert(rows.slice(0, index).every((r) => r[1] === "✓"));
        // The PAM stack check is independent: the AWS checks still run when it fails.
        const after = rows.slice(index + 1).map((r) => r[1]);
        if (failing === "PAM stack") assert(after.every((mark) => mark === "✓"), result.stdout);
        else assert(after.every((mark) => mark === "-" || mark === "✓"), result.stdout);
        assert.match(result.stdout, /\n {2}what to do: /);
      });
    }
  },
);

Deno.test(
  "doctor on this machine's stock sshd stack: user_readenv=1 is a failed check with the fix",
  {
    ignore: NOT_ROOT || NO_STOCK_STACK,
  },
  async () => {
    await using s = await doctorScenario();
    await Deno.copyFile("/etc/pam.d/sshd", `${s.root}/etc/pam.d/sshd`);
    const result = await s.doctor();
    assert.notEqual(result.code, 0);
    assert.match(
      result.stdout,
      /✗ PAM stack: \/etc\/pam\.d\/sshd line \d+ enables user_readenv=1: every user's ~\/\.pam_environment reaches tattle, which runs as root/,
    );
    assert.match(
      result.stdout,
      /what to do: run tattle setup --pam: it puts its own line in place of any other that runs tattle \(add --disable-user-readenv/,
    );
  },
);

Deno.test("doctor: a tattle line without prlimit fails, saying who goes unreported", {
  ignore: NOT_ROOT,
}, async () => {
  await using s = await doctorScenario();
  await goodPamStack(
    s.root,
    "@include common-session\nsession optional pam_exec.so /usr/local/bin/tattle\n",
  );
  const result = await s.doctor();
  assert.match(
    result.stdout,
    /✗ PAM stack: \/etc\/pam\.d\/sshd line 2 runs tattle without \/usr\/bin\/prlimit: a user with an address-space limit/,
  );
});

Deno.test(
  "doctor: a name service that does not know root is a failed check, and the rest still run",
  { ignore: notRoot("a mount namespace puts /bin/false in place of /usr/bin/id") },
  async () => {
    await using s = await doctorScenario({}, WITHOUT_NAME_SERVICE);
    const result = await s.doctor();
    assert.notEqual(result.code, 0, result.stdout);
    const rows = lines(result.stdout).map((l) => LINE.exec(l)!);
    assert.deepEqual(rows.filter((r) => r[1] === "✗").map((r) => r[2]), ["name service"]);
    assert.match(result.stdout, /✗ name service: \/usr\/bin\/id does not know root/);
    assert.match(result.stdout, /what to do: check nsswitch.conf and the directory service/);
    assert(rows.filter((r) => r[1] === "✓").length >= 4, result.stdout);
  },
);

Deno.test(
  "doctor: no config file at the default path is reported as absent, the defaults applying",
  { ignore: notRoot("a mount namespace hides /etc/tattle") },
  async () => {
    const root = await Deno.makeTempDir({ prefix: "tattle-doctor-" });
    try {
      await goodPamStack(root);
      const result = await runTattle(
        ["doctor", "--root", root, "--identity", "none", "--region", "us-east-1"],
        {},
        {
          read: [root],
          under: [
            "/usr/bin/unshare",
            "--mount",
            "--propagation=private",
            "/bin/sh",
            "-c",
            'mkdir -p /etc/tattle && mount -t tmpfs tmpfs /etc/tattle && exec "$0" "$@"',
          ],
        },
      );
      assert.match(
        result.stdout,
        /✓ config: \/etc\/tattle\/config\.json: absent: the defaults apply/,
      );
      assert.doesNotMatch(result.stdout, /trusted and valid/);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
);

Deno.test(
  "doctor names the URL and the cause of a failed EventBridge or IMDS check, with advice that fits",
  { ignore: NOT_ROOT },
  async (t) => {
    await using silent = startSilentServer();
    await using untrusted = startFakeEventBridge({}, { tls: true });
    const cases: Array<[string, Record<string, unknown>, string, RegExp, RegExp]> = [
      [
        "refused",
        { endpoint_url: refusedUrl() },
        "EventBridge endpoint",
        /http:\/\/127\.0\.0\.1:\d+\/?: connection refused/,
        /what to do: nothing listens at http:\/\/127\.0\.0\.1:\d+\/?: check endpoint_url/,
      ],
      [
        "DNS",
        { endpoint_url: "https://events.tattle-test.invalid" },
        "EventBridge endpoint",
        /https:\/\/events\.tattle-test\.invalid\/?: the host name does not resolve/,
        /what to do: events\.tattle-test\.invalid does not resolve: check region and endpoint_url/,
      ],
      [
        "TLS",
        { endpoint_url: untrusted.url },
        "EventBridge endpoint",
        /https:\/\/127\.0\.0\.1:\d+\/?: TLS: /,
        /what to do: the certificate of 127\.0\.0\.1:\d+ is not trusted: for a private endpoint set ca_bundle/,
      ],
      [
        "timeout",
        { endpoint_url: silent.url },
        "EventBridge endpoint",
        /http:\/\/127\.0\.0\.1:\d+\/?: no answer within 1 s/,
        /what to do: no answer from 127\.0\.0\.1:\d+ within 1 s: allow outbound HTTPS/,
      ],
      [
        "IMDS refused",
        { imds_endpoint: refusedUrl() },
        "identity",
        /IMDS at http:\/\/127\.0\.0\.1:\d+ did not answer: connection refused/,
        /what to do: nothing serves IMDS at http:\/\/127\.0\.0\.1:\d+: on EC2 turn the metadata endpoint on/,
      ],
    ];
    for (const [name, config, check, failure, advice] of cases) {
      await t.step(name, async () => {
        await using s = await doctorScenario();
        await s.setConfig(config);
        const result = await s.doctor();
        assert.equal(result.code, 69, result.stdout);
        const row = result.stdout.split("\n").find((l) => l.startsWith(`✗ ${check}:`));
        assert(row, result.stdout);
        assert.match(row, failure);
        assert.doesNotMatch(result.stdout, /fetch failed|proxy/);
        assert.match(result.stdout, advice);
      });
    }
  },
);
