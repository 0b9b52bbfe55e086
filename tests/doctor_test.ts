import assert from "node:assert/strict";
import { FAKE_DOCUMENT } from "./fakes/imds.ts";
import { refusedUrl } from "./fakes/silent.ts";
import { scenario } from "./support/scenario.ts";
import { runTattle } from "./support/tattle.ts";

async function doctorScenario(config: Record<string, unknown> = {}) {
  const s = await scenario(config);
  const doctor = (...args: string[]) =>
    runTattle(["doctor", "--config", s.home.configPath, ...args], {}, s.home.access);
  return Object.assign(s, { doctor });
}

const LINE = /^([✓✗-]) ([a-zA-Z ]+): (.*?)(?: \((\d+) ms\))?$/;

function lines(stdout: string) {
  return stdout.trimEnd().split("\n").filter((l) => !l.startsWith("  what to do"));
}

Deno.test("doctor: every check passes against healthy fakes, in order, with timings", async () => {
  await using s = await doctorScenario();
  const result = await s.doctor();
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const rows = lines(result.stdout).map((l) => LINE.exec(l));
  assert.deepEqual(rows.map((r) => r?.[1]), ["✓", "✓", "✓", "✓"]);
  assert.deepEqual(rows.map((r) => r?.[2]), [
    "config",
    "identity",
    "credentials",
    "EventBridge endpoint",
  ]);
  assert.match(
    result.stdout,
    new RegExp(
      `token accepted, instance ${FAKE_DOCUMENT.instanceId}, region us-east-1, partition aws`,
    ),
  );
  assert.match(result.stdout, /credentials: from EC2 instance role \(IMDS\) \(access key …0001\)/);
  assert(!result.stdout.includes("fake/role/secret"), "never the secret");
  assert.equal(s.events.received.length, 0, "no event without --send-test");
});

Deno.test("doctor --send-test sends one event with session test and prints its EventId", async () => {
  await using s = await doctorScenario();
  const result = await s.doctor("--send-test");
  assert.equal(result.code, 0, result.stdout);
  assert.match(result.stdout, /✓ test event: sent, EventId [0-9a-f-]{36}/);
  assert.equal(s.events.received.length, 1);
  assert.equal(s.events.received[0].detail.session, "test");
});

Deno.test("doctor: each check failing in turn says what to do and exits non-zero", async (t) => {
  const cases: Array<
    [string, (s: Awaited<ReturnType<typeof doctorScenario>>) => Promise<void> | void, string]
  > = [
    ["config", (s) => s.setConfig({ timeout: "soon" }), "config"],
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
      const index = rows.findIndex((r) => r[1] === "✗");
      assert.equal(rows[index][2], failing, result.stdout);
      assert(rows.slice(0, index).every((r) => r[1] === "✓"));
      assert(rows.slice(index + 1).every((r) => r[1] === "-"), "later checks are skipped");
      assert.match(result.stdout, /\n {2}what to do: /);
    });
  }
});
