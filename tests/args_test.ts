import assert from "node:assert/strict";
import { parseCli } from "../lib/args.ts";
import { EXIT, TattleError } from "../lib/errors.ts";

Deno.test("no arguments is the hook with the default config", () => {
  const args = parseCli([]);
  assert.equal(args.command, "hook");
  assert.equal(args.configPath, "/etc/tattle/config.json");
  assert.equal(args.configExplicit, false);
  assert.deepEqual(args.settings, {});
});

Deno.test("flags mirror the config keys", () => {
  const args = parseCli([
    "--config=/etc/tattle/other.json",
    "--source=s",
    "--detail-type=d",
    "--event-bus=b",
    "--region=eu-west-1",
    "--endpoint-url=http://127.0.0.1:1",
    "--imds-endpoint=http://127.0.0.1:2",
    "--identity=none",
    "--resource=arn:a",
    "--resource=arn:b",
    "--timeout=3",
    "--dry-run",
    "--debug",
  ]);
  assert.equal(args.configPath, "/etc/tattle/other.json");
  assert.equal(args.configExplicit, true);
  assert.deepEqual(args.settings, {
    source: "s",
    detail_type: "d",
    event_bus: "b",
    region: "eu-west-1",
    endpoint_url: "http://127.0.0.1:1",
    imds_endpoint: "http://127.0.0.1:2",
    identity: "none",
    resources: ["arn:a", "arn:b"],
    timeout: 3,
  });
  assert.equal(args.dryRun, true);
  assert.equal(args.debug, true);
});

Deno.test("bad command lines are usage errors", () => {
  const cases: Array<[string[], RegExp]> = [
    [["--bogus"], /Unknown option '--bogus'/],
    [["frobnicate"], /unknown command "frobnicate"/],
    [["hook", "extra"], /unexpected argument "extra"/],
    [["--timeout", "soon"], /--timeout must be a number/],
    [["--identity", "ec2"], /--identity must be "imds" or "none"/],
    [["--region"], /argument missing/],
  ];
  for (const [argv, pattern] of cases) {
    assert.throws(() => parseCli(argv), (error: unknown) => {
      assert(error instanceof TattleError);
      assert.equal(error.exitCode, EXIT.USAGE);
      assert.match(error.message, pattern);
      return true;
    }, argv.join(" "));
  }
});
