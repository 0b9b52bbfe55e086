/** The command line: the option parser, the settings' flags, and each command's own options. */

import assert from "node:assert/strict";
import { ArgsError, parseOptions } from "../lib/cli/args.ts";
import { flagsOf, SETTINGS_OPTIONS, settingsFromFlags } from "../lib/cli/settings_flags.ts";
import { EXIT, TattleError } from "../lib/util/errors.ts";
import { runTattle } from "./support/tattle.ts";

const settings = (argv: string[]) => settingsFromFlags(parseOptions(argv, SETTINGS_OPTIONS).values);

Deno.test("the parser: --name VALUE, --name=VALUE, repeats, switches, -h and --", () => {
  const specs = {
    config: { kind: "string", help: "" },
    resource: { kind: "list", help: "" },
    pam: { kind: "boolean", help: "" },
    help: { kind: "boolean", short: "h", help: "" },
  } as const;
  const { values, positionals } = parseOptions(
    ["--config", "/a", "--resource=x", "--resource", "y", "--pam", "-h", "--", "--not-an-option"],
    specs,
  );
  assert.deepEqual(values, { config: "/a", resource: ["x", "y"], pam: true, help: true });
  assert.deepEqual(positionals, ["--not-an-option"]);
  for (
    const [argv, pattern] of [
      [["--bogus"], /unknown option --bogus/],
      [["-x"], /unknown option -x/],
      [["--config"], /option --config needs a value/],
      [["--pam=yes"], /option --pam takes no value/],
      [["--constructor"], /unknown option --constructor/],
    ] as const
  ) {
    assert.throws(
      () => parseOptions(argv, specs),
      (e: unknown) => e instanceof ArgsError && pattern.test(e.message),
    );
  }
});

Deno.test("every setting with a flag is given by it, checked like the file", () => {
  assert.deepEqual(
    settings([
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
      "--spool-max-events=7",
      "--trust-environment",
    ]),
    {
      source: "s",
      detail_type: "d",
      event_bus: "b",
      region: "eu-west-1",
      endpoint_url: "http://127.0.0.1:1",
      imds_endpoint: "http://127.0.0.1:2",
      identity: "none",
      resources: ["arn:a", "arn:b"],
      timeout: 3,
      spool_max_events: 7,
      trust_environment: true,
    },
  );
  for (
    const [argv, pattern] of [
      [["--timeout", "soon"], /--timeout must be a number/],
      [["--identity", "ec2"], /--identity must be "imds" or "none"/],
      [["--event-bus", "a bus"], /--event-bus must be an event bus name or ARN/],
    ] as const
  ) {
    assert.throws(() => settings([...argv]), (error: unknown) => {
      assert(error instanceof TattleError);
      assert.equal(error.exitCode, EXIT.USAGE);
      assert.match(error.message, pattern);
      return true;
    });
  }
});

Deno.test("the flags a sender gets give back the same settings", () => {
  const given = settings([
    "--region=eu-west-1",
    "--resource=a",
    "--resource=b",
    "--trust-environment",
  ]);
  assert.deepEqual(settings(flagsOf(given)), given);
});

Deno.test("each command takes only its own options, and says its usage", async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [
      ["flush", "--uninstall"],
      /unknown option --uninstall; usage: tattle flush \[--requeue-failed\]/,
    ],
    [["flush", "--pam", "--send-test"], /unknown option --pam; usage: tattle flush/],
    [["setup", "--region", "eu-west-1"], /unknown option --region; usage: tattle setup \[--pam/],
    [["doctor", "--dry-run"], /unknown option --dry-run; usage: tattle doctor/],
    [["--send-test"], /unknown option --send-test; usage: tattle \[hook\] \[OPTIONS\]/],
    [["frobnicate"], /unknown command "frobnicate"/],
    [["hook", "extra"], /unexpected argument "extra"/],
    [["setup", "--disable-user-readenv"], /--disable-user-readenv goes with --pam/],
  ];
  for (const [argv, pattern] of cases) {
    await t.step(argv.join(" "), async () => {
      const result = await runTattle(argv, {});
      assert.equal(result.code, 64, result.stderr);
      assert.match(result.stderr, /^tattle: error: /);
      assert.match(result.stderr, pattern);
      assert.equal(result.stderr.trimEnd().split("\n").length, 1);
    });
  }
});

Deno.test("tattle COMMAND --help prints that command's options and exit codes", async (t) => {
  const cases: Array<[string, RegExp[], RegExp[]]> = [
    ["hook", [/--dry-run/, /--detail-type,/, /Exit codes: 0 [\s\S]*75 spooled/], [/--pam/]],
    ["flush", [/--config PATH/, /--requeue-failed/, /65 failed\/ holds events/, /69 the oldest/], [
      /--dry-run/,
      /--pam/,
    ]],
    ["sender", [/--sender-idle,/, /User=tattle/], [/--dry-run/, /--linger/, /--resident/]],
    ["status", [/--json/, /69 the oldest spooled event is older than alert_after/], [/--pam/]],
    ["setup", [/--disable-user-readenv/, /--root DIR/], [/--config/, /--region/]],
    ["doctor", [/--send-test/, /--root DIR/, /69 a check failed/], [/--pam\b/]],
  ];
  for (const [name, present, absent] of cases) {
    await t.step(name, async () => {
      const result = await runTattle([name, "--help"], {});
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stdout,
        new RegExp(`^Usage: tattle ${name === "hook" ? "\\[hook\\]" : name}`),
      );
      for (const p of present) assert.match(result.stdout, p);
      for (const p of absent) assert.doesNotMatch(result.stdout, p);
    });
  }
  await t.step("tattle --help lists the commands", async () => {
    const result = await runTattle(["--help"], {});
    for (const name of ["hook", "flush", "sender", "status", "setup", "doctor"]) {
      assert.match(result.stdout, new RegExp(`\\n  ${name} +\\S`));
    }
  });
});

Deno.test("every --help fits in 100 columns, its own options before the shared config flags", async (t) => {
  for (
    const args of [
      ["--help"],
      ...["hook", "flush", "sender", "status", "setup", "doctor"].map((c) => [c, "--help"]),
    ]
  ) {
    await t.step(args.join(" "), async () => {
      const result = await runTattle(args, {});
      assert.equal(result.code, 0, result.stderr);
      const wide = result.stdout.split("\n").filter((line) => line.length > 100);
      assert.deepEqual(wide, []);
      const own = result.stdout.indexOf("Options:");
      const config = result.stdout.indexOf("Config:");
      if (args[0] !== "--help") assert(own > 0, "its own options");
      if (config >= 0) assert(config > own, "the config flags after its own");
    });
  }
});
