import assert from "node:assert/strict";
import { parseOptions } from "../lib/cli/args.ts";
import { SETTINGS_OPTIONS, settingsFromFlags } from "../lib/cli/settings_flags.ts";
import {
  DEFAULTS,
  parseConfigFile,
  resolveConfig,
  SETTING_KEYS,
  shadowedDetailKeys,
} from "../lib/config/config.ts";
import { flagOf, SETTING_DOCS, SETTINGS } from "../lib/config/settings.ts";
import { configKeys, MARKERS } from "../tools/config_keys.ts";
import { ROOT } from "./support/tattle.ts";
import { loadConfig } from "../lib/config/file.ts";
import { EXIT, TattleError } from "../lib/util/errors.ts";

const PATH = "/etc/tattle/config.json";
const trusted = () => Promise.resolve();

function assertFails(fn: () => unknown, exitCode: number, pattern: RegExp) {
  assert.throws(fn, (error: unknown) => {
    assert(error instanceof TattleError, String(error));
    assert.equal(error.exitCode, exitCode);
    assert.match(error.message, pattern);
    return true;
  });
}

Deno.test("an empty file gives the defaults", () => {
  assert.deepEqual(resolveConfig(parseConfigFile("{}", PATH), {}, PATH), DEFAULTS);
});

Deno.test("every key is read from the file", () => {
  const file = {
    source: "com.example.ssh",
    detail_type: "login",
    event_bus: "arn:aws:events:us-east-1:123456789012:event-bus/security",
    region: "eu-west-1",
    endpoint_url: "https://events.eu-west-1.amazonaws.com/",
    imds_endpoint: "http://[fd00:ec2::254]",
    identity: "none",
    resources: ["arn:aws:ec2:eu-west-1:123456789012:instance/i-1"],
    timeout: 1.5,
    extra_detail: { team: "ops" },
    mode: "inline",
    spool_dir: "/var/lib/tattle/spool/",
    spool_max_events: 500,
    state_dir: "/var/lib/tattle-test",
    runtime_dir: "/run/tattle-test",
    sender_idle: 0,
    reconcile_services: ["sshd", "sshd-internal"],
    trust_environment: true,
    profile: "events",
    syslog_socket: "/run/systemd/journal/dev-log",
    alert_after: 60,
    metrics_file: "/var/lib/tattle/metrics/tattle.prom",
    ignore: { users: ["ansible"], groups: ["ci"], services: ["sshd-ci"] },
  };
  const config = resolveConfig(parseConfigFile(JSON.stringify(file), PATH), {}, PATH);
  assert.deepEqual(config, {
    ...file,
    endpoint_url: "https://events.eu-west-1.amazonaws.com",
    spool_dir: "/var/lib/tattle/spool",
  });
});

Deno.test("flags win over the file, the file over the defaults", () => {
  const file = parseConfigFile('{"region": "eu-west-1", "timeout": 5, "source": "file"}', PATH);
  const flags = settingsFromFlags(
    parseOptions(["--region", "us-west-2", "--timeout", "0.5"], SETTINGS_OPTIONS).values,
  );
  const config = resolveConfig(file, flags, PATH);
  assert.equal(config.region, "us-west-2");
  assert.equal(config.timeout, 0.5);
  assert.equal(config.source, "file");
  assert.equal(config.detail_type, DEFAULTS.detail_type);
});

Deno.test("every config file error exits 78 naming the file, the key and the problem", () => {
  const cases: Array<[string, RegExp]> = [
    ["not json", /config file \/etc\/tattle\/config.json is not valid JSON/],
    ["[]", /must contain a JSON object/],
    ['{"sauce": "x"}', /unknown key "sauce"/],
    ['{"source": 1}', /"source" must be a string/],
    ['{"source": ""}', /"source" must be 1 to 256 characters/],
    ['{"detail_type": null}', /"detail_type" must be a string/],
    ['{"event_bus": []}', /"event_bus" must be a string/],
    ['{"region": "moon-1"}', /"region" must be an AWS region/],
    ['{"endpoint_url": "ftp://x"}', /"endpoint_url" must be an http/],
    ['{"endpoint_url": "not a url"}', /"endpoint_url" must be an http/],
    ['{"imds_endpoint": 169}', /"imds_endpoint" must be a string/],
    ['{"identity": "ec2"}', /"identity" must be "imds" or "none"/],
    ['{"resources": "arn"}', /"resources" must be a list/],
    ['{"resources": [""]}', /"resources" must be 1 to 2048 characters \(at resources\[0\]\)/],
    [`{"resources": ["${"a".repeat(2049)}"]}`, /"resources" must be 1 to 2048 characters/],
    [`{"source": "${"s".repeat(257)}"}`, /"source" must be 1 to 256 characters/],
    [`{"detail_type": "${"d".repeat(129)}"}`, /"detail_type" must be 1 to 128 characters/],
    ['{"event_bus": "my bus"}', /"event_bus" must be an event bus name or ARN/],
    [
      '{"event_bus": "arn:aws:events:us-east-1:123:event-bus/x"}',
      /"event_bus" must be an event bus name or ARN/,
    ],
    ['{"timeout": "2"}', /"timeout" must be a number/],
    ['{"timeout": 0}', /"timeout" must be a number/],
    ['{"timeout": 600}', /"timeout" must be a number/],
    ['{"extra_detail": []}', /"extra_detail" must be an object/],
    ['{"extra_detail": {"a": 1}}', /"extra_detail" must be a string \(at extra_detail\.a\)/],
    ['{"mode": "sync"}', /"mode" must be "background" or "inline"/],
    ['{"spool_dir": "spool"}', /"spool_dir" must be an absolute path/],
    ['{"spool_dir": "/var/../etc"}', /"spool_dir" must be an absolute path without \.\./],
    ['{"spool_max_events": 0}', /"spool_max_events" must be a whole number/],
    ['{"spool_max_events": 1.5}', /"spool_max_events" must be a whole number/],
    ['{"state_dir": 7}', /"state_dir" must be a string/],
    ['{"trust_environment": "yes"}', /"trust_environment" must be true or false/],
    ['{"profile": "a b"}', /"profile" must be a profile name/],
    ['{"syslog_socket": "dev/log"}', /"syslog_socket" must be an absolute path/],
    [
      '{"ignore": {"user": ["ansible"]}}',
      /unknown key "ignore.user"/,
    ],
    ['{"ignore": {"users": "ansible"}}', /"ignore.users" must be a list$/],
    [
      '{"ignore": {"groups": [""]}}',
      /"ignore.groups" must be 1 to 256 characters \(at ignore.groups\[0\]\)/,
    ],
  ];
  for (const [text, pattern] of cases) {
    assertFails(() => parseConfigFile(text, PATH), EXIT.CONFIG, pattern);
  }
});

Deno.test("identity none without a region is a config error", () => {
  assertFails(
    () => resolveConfig({ identity: "none" }, {}, PATH),
    EXIT.CONFIG,
    /identity "none" needs a region: set "region" in \/etc\/tattle\/config.json or pass --region/,
  );
});

Deno.test("a missing default file means defaults; a missing --config file is an error", async () => {
  const notFound = () => Promise.reject(new Deno.errors.NotFound("no such file"));
  assert.deepEqual(await loadConfig(PATH, false, {}, notFound, trusted), DEFAULTS);
  await assert.rejects(loadConfig("/srv/x.json", true, {}, notFound, trusted), (error: unknown) => {
    assert(error instanceof TattleError);
    assert.equal(error.exitCode, EXIT.CONFIG);
    assert.equal(error.message, "config file /srv/x.json does not exist");
    return true;
  });
});

Deno.test("an unreadable or invalid file is an error even at the default path", async () => {
  const denied = () => Promise.reject(new Deno.errors.PermissionDenied("permission denied"));
  await assert.rejects(
    loadConfig(PATH, false, {}, denied, trusted),
    /cannot be read: permission denied/,
  );
  const invalid = () => Promise.resolve('{"timeout": -1}');
  await assert.rejects(loadConfig(PATH, false, {}, invalid, trusted), /"timeout" must be a number/);
});

Deno.test("the README's config keys are the ones generated from the declaration (deno task docs)", async () => {
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  const start = readme.indexOf(MARKERS[0]) + MARKERS[0].length;
  const end = readme.indexOf(MARKERS[1]);
  // deno fmt wraps the list: compared word for word.
  const words = (text: string) => text.trim().split(/\s+/).join(" ");
  assert.equal(words(readme.slice(start, end)), words(configKeys()));
});

Deno.test("every key is documented, and has a flag or says why not", () => {
  assert.deepEqual(SETTING_KEYS.sort(), Object.keys(SETTINGS.properties).sort());
  for (const key of SETTING_KEYS) {
    const { flag, meaning } = SETTING_DOCS[key];
    assert(meaning.length > 0, key);
    assert(flagOf(key) !== undefined || ("none" in flag && flag.none.length > 0), key);
  }
});

Deno.test("an extra_detail key that names a field tattle sets is accepted, and named as left out", () => {
  const file = parseConfigFile(
    '{"extra_detail": {"team": "sec", "uid": "0", "username": "root"}}',
    PATH,
  );
  const config = resolveConfig(file, {}, PATH);
  assert.deepEqual(shadowedDetailKeys(config), ["uid", "username"]);
  assert.deepEqual(shadowedDetailKeys(resolveConfig({}, {}, PATH)), []);
});
