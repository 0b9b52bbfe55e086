/**
 * The deploy kit's shape: the CloudFormation template's resources and
 * parameters, the IAM policy's statement, the systemd units, tmpfiles.d and
 * sysusers.d files against tattle's own declarations. What they do is
 * judged by real software elsewhere: moto (tests/moto_test.ts), an IAM
 * policy evaluator (tests/iam_policy_test.ts), cfn-lint, systemd-analyze
 * (.ci/run, tests/units_test.ts) and the system tests.
 */

import assert from "node:assert/strict";
import { DEFAULTS } from "../lib/config/config.ts";
import { layout, senderSocket } from "../lib/config/paths.ts";
import { SENDER_ACCOUNT } from "../lib/host/accounts.ts";
import { ROOT } from "./support/tattle.ts";

const template = JSON.parse(await Deno.readTextFile(`${ROOT}contrib/cloudformation.json`));
const policy = JSON.parse(await Deno.readTextFile(`${ROOT}contrib/iam-policy.json`));
const unit = (name: string) => Deno.readTextFileSync(`${ROOT}contrib/systemd/${name}`);

Deno.test("the CloudFormation template has the rule, topic, subscription and topic policy", () => {
  const types = Object.values(template.Resources as Record<string, { Type: string }>)
    .map((r) => r.Type).sort();
  assert.deepEqual(types, [
    "AWS::Events::Rule",
    "AWS::SNS::Subscription",
    "AWS::SNS::Topic",
    "AWS::SNS::TopicPolicy",
  ]);
  const rule = template.Resources.SessionRule.Properties;
  assert.deepEqual(rule.EventBusName, { Ref: "EventBusName" });
  const [condition, withGroup, without] = rule.EventPattern["Fn::If"];
  assert.equal(condition, "HasAlertGroup");
  for (const pattern of [withGroup, without]) {
    assert.deepEqual(pattern.source, [{ Ref: "EventSource" }], "the source is a parameter");
  }
  assert.deepEqual(withGroup.detail, { groups: [{ Ref: "AlertGroup" }] });
  const statement = template.Resources.SessionTopicPolicy.Properties.PolicyDocument.Statement[0];
  assert.equal(statement.Principal.Service, "events.amazonaws.com");
  assert.equal(statement.Action, "sns:Publish");
  // Every Ref names a parameter or resource that exists.
  const names = new Set([...Object.keys(template.Parameters), ...Object.keys(template.Resources)]);
  const refs = [...JSON.stringify(template).matchAll(/"Ref":"([^"]+)"/g)].map((m) => m[1]);
  assert(refs.every((r) => names.has(r)), refs.join(", "));
});

Deno.test("the input transformer quotes nothing a user controls and uses only paths that always exist", () => {
  const { InputPathsMap, InputTemplate } = template.Resources.SessionRule.Properties.Targets[0]
    .InputTransformer;
  assert.deepEqual(Object.values(InputPathsMap).sort(), [
    "$.account",
    "$.detail.session",
    "$.region",
  ]);
  assert.match(InputTemplate, /"event": <aws\.events\.event\.json>\}$/);
});

Deno.test("the IAM policy allows only events:PutEvents, for tattle's source, in any partition", () => {
  const [statement] = policy.Statement;
  assert.equal(policy.Statement.length, 1);
  assert.equal(statement.Action, "events:PutEvents");
  assert.match(statement.Resource, /^arn:\*:events:\*:\*:event-bus\/default$/);
  assert.deepEqual(statement.Condition["ForAllValues:StringEquals"], {
    "events:source": ["com.unbounce.tattle"],
  });
  assert.deepEqual(statement.Condition.Null, { "events:source": "false" });
});

Deno.test("the systemd units: the sender runs as tattle, started by its socket; no path missing at boot fails them; the timer spreads a fleet", () => {
  for (const name of ["tattle-flush.service", "tattle-sender.service"]) {
    const text = unit(name);
    for (const line of text.split("\n").filter((l) => l.startsWith("ReadWritePaths="))) {
      for (const path of line.slice("ReadWritePaths=".length).split(/\s+/).filter(Boolean)) {
        assert(path.startsWith("-"), `${name}: ${path} would fail the unit while it is missing`);
      }
    }
    assert.match(text, /^User=tattle$/m, `${name}: the sender's account, not root`);
    // RuntimeDirectory= would hand /run/tattle (root's: the hooks' session records) to tattle.
    assert.doesNotMatch(text, /^RuntimeDirectory=/m, `${name}: /run/tattle stays root's`);
  }
  const socket = unit("tattle-sender.socket");
  assert.match(socket, new RegExp(`^ListenStream=${senderSocket(DEFAULTS)}$`, "m"));
  assert.match(socket, /^SocketMode=0660$/m, "root's hooks and tattle flush, nobody else");
  assert.match(socket, /^SocketGroup=tattle$/m);
  assert.match(socket, /^Accept=no$/m, "one sender for a burst");
  assert.match(unit("tattle-sender.service"), /^ExecStart=\S+ sender --config \S+$/m);
  assert.match(unit("tattle-flush.timer"), /^RandomizedDelaySec=\d+s$/m);
  assert.match(unit("tattle-flush.service"), /^SuccessExitStatus=75$/m, "65 and 69 fail the unit");
});

Deno.test("contrib/tmpfiles.d/tattle.conf declares the layout tattle setup creates", () => {
  const declared = Deno.readTextFileSync(`${ROOT}contrib/tmpfiles.d/tattle.conf`).split("\n")
    .filter((line) => line.trim() !== "" && !line.startsWith("#"))
    .map((line) => {
      const [type, path, mode, user, group] = line.split(/\s+/);
      return { type, path, mode: Number.parseInt(mode, 8), owner: user, group };
    });
  const expected = layout(DEFAULTS).map((entry) => {
    const owner = entry.owner === "sender" ? SENDER_ACCOUNT : "root";
    return { type: entry.type, path: entry.path, mode: entry.mode, owner, group: owner };
  });
  assert.deepEqual(declared, expected);
});

Deno.test("contrib/sysusers.d/tattle.conf creates the sender's account, with no login", () => {
  const [line] = Deno.readTextFileSync(`${ROOT}contrib/sysusers.d/tattle.conf`).split("\n")
    .filter((l) => l.startsWith("u "));
  const [type, name] = line.split(/\s+/);
  assert.equal(type, "u");
  assert.equal(name, SENDER_ACCOUNT);
  assert.match(line, /\/usr\/sbin\/nologin$/);
});

Deno.test("contrib/cron.d/tattle runs, where there is no timer, what tattle-flush.service runs, as often", () => {
  const entries = Deno.readTextFileSync(`${ROOT}contrib/cron.d/tattle`).split("\n")
    .filter((line) => /^[*0-9]/.test(line));
  assert.equal(entries.length, 1);
  const [minute, hour, day, month, weekday, user, ...command] = entries[0].split(/\s+/);
  assert.deepEqual([minute, hour, day, month, weekday], ["*", "*", "*", "*", "*"], "every minute");
  assert.equal(user, SENDER_ACCOUNT);
  const service = unit("tattle-flush.service");
  assert.equal(service.match(/^ExecStart=(.*)$/m)?.[1], command.join(" "));
  assert.match(unit("tattle-flush.timer"), /^OnUnitActiveSec=1min$/m);
  assert.match(service, new RegExp(`^User=${SENDER_ACCOUNT}$`, "m"));
});
