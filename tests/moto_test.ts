/**
 * The deploy kit end to end against moto_server (moto 5, a real EventBridge
 * and SQS model): the rule and input transformer of
 * contrib/cloudformation.json, an SQS queue as target, and tattle, as a
 * process under the permission set, sending real events to it. Skips with
 * the reason where moto is missing; with CI=true that is a failure.
 */

import assert from "node:assert/strict";
import { scenario } from "./support/scenario.ts";
import { pamEnv, ROOT } from "./support/tattle.ts";

const HELPER = new URL("./support/moto_stack.py", import.meta.url).pathname;
const TEMPLATE = `${ROOT}contrib/cloudformation.json`;

function missingMoto(): string | undefined {
  const probe = new Deno.Command("python3", { args: ["-c", "import moto.server, boto3"] })
    .outputSync();
  return probe.code === 0
    ? undefined
    : "python3 lacks moto[server] and boto3 (pip install 'moto[server]')";
}
const missing = missingMoto();
if (missing && Deno.env.get("CI") === "true") {
  throw new Error(`moto tests cannot run in CI: ${missing}`);
}
if (missing) console.log(`ignored: the moto tests: ${missing}`);

async function helper(...args: string[]): Promise<string> {
  const out = await new Deno.Command("python3", { args: [HELPER, ...args] }).output();
  if (out.code !== 0) throw new Error(new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}

/** moto_server on a free 127.0.0.1 port, stopped at dispose. */
async function motoServer() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const child = new Deno.Command("python3", {
    args: ["-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      await (await fetch(`${url}/moto-api/`)).body?.cancel();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    async [Symbol.asyncDispose]() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

/** The stack's rule, deployed into moto with `parameters`, and the messages its queue received. */
async function deployStack(motoUrl: string, parameters: Record<string, string> = {}) {
  const queue = await helper(motoUrl, "deploy", TEMPLATE, JSON.stringify(parameters));
  return {
    // deno-lint-ignore no-explicit-any
    received: async (): Promise<any[]> =>
      (JSON.parse(await helper(motoUrl, "receive", queue)) as string[]).map((b) => JSON.parse(b)),
  };
}

const HOSTILE = ['al"ice', "bob\\", "tab\there", "ctrl\u0001x", "new\nline", "😀 émile", "<user>"];

Deno.test({
  name:
    "moto: tattle's events, hostile names included, arrive transformed; unrelated events do not",
  ignore: missing !== undefined,
  async fn() {
    await using moto = await motoServer();
    const stack = await deployStack(moto.url);
    await using s = await scenario({ endpoint_url: moto.url });
    for (const [i, name] of HOSTILE.entries()) {
      const result = await s.run(pamEnv({
        PAM_USER: name,
        PAM_RHOST: `host"${name}`,
        PAM_TYPE: i % 2 ? "close_session" : "open_session",
      }));
      assert.equal(result.code, 0, result.stderr);
    }
    await helper(
      moto.url,
      "put",
      JSON.stringify([
        { Source: "aws.ec2", DetailType: "EC2 Instance State-change Notification", Detail: "{}" },
        {
          Source: "com.example.other",
          DetailType: "SSH connection event detected",
          Detail: '{"username": "x"}',
        },
      ]),
    );
    const messages = await stack.received();
    assert.equal(messages.length, HOSTILE.length, "tattle's events only");
    for (const [i, name] of HOSTILE.entries()) {
      const m = messages.find((m) => m.event.detail.username === name);
      assert(m, `the event of ${JSON.stringify(name)} arrived, its name intact`);
      const session = i % 2 ? "closed" : "opened";
      assert.equal(
        m.message,
        `tattle: an SSH session ${session} in account ${m.event.account}, us-east-1`,
      );
      assert.equal(m.event.detail.remote_host, `host"${name}`);
      assert.equal(m.event.source, "com.unbounce.tattle");
    }
  },
});

Deno.test({
  name: "moto: the EventSource parameter follows a changed source",
  ignore: missing !== undefined,
  async fn() {
    await using moto = await motoServer();
    const stack = await deployStack(moto.url, { EventSource: "com.example.ssh" });
    await using s = await scenario({ endpoint_url: moto.url, source: "com.example.ssh" });
    assert.equal((await s.run()).code, 0);
    await s.setConfig({ source: "com.unbounce.tattle" });
    assert.equal((await s.run()).code, 0);
    const messages = await stack.received();
    assert.deepEqual(messages.map((m) => m.event.source), ["com.example.ssh"]);
  },
});

Deno.test({
  name: "moto: with AlertGroup, a member's session arrives and a non-member's does not",
  ignore: missing !== undefined,
  async fn() {
    await using moto = await motoServer();
    // Users every Debian system has: root (group root) and nobody (group nogroup).
    const stack = await deployStack(moto.url, { AlertGroup: "root" });
    await using s = await scenario({ endpoint_url: moto.url });
    for (const user of ["nobody", "root", "no-such-user-tattle"]) {
      const result = await s.run(pamEnv({ PAM_USER: user }));
      assert.equal(result.code, 0, result.stderr);
    }
    const events = (await stack.received()).map((m) => m.event);
    assert.deepEqual(events.map((e) => e.detail.username), ["root"]);
    assert(events[0].detail.groups.includes("root"), JSON.stringify(events[0].detail));
  },
});
