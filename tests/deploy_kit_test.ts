/**
 * The deploy kit's shape: the CloudFormation template's resources and
 * parameters, the IAM policy's statement, the systemd units' fixes. What
 * they do is judged by real software elsewhere: moto (tests/moto_test.ts),
 * an IAM policy evaluator (tests/iam_policy_test.ts), cfn-lint and
 * systemd-analyze verify (.ci/run).
 */

import assert from "node:assert/strict";
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

Deno.test("the systemd units: no path that is missing at boot fails them; the timer spreads a fleet", () => {
  for (const name of ["tattle-flush.service", "tattle-sender.service"]) {
    const text = unit(name);
    for (const line of text.split("\n").filter((l) => l.startsWith("ReadWritePaths="))) {
      for (const path of line.slice("ReadWritePaths=".length).split(/\s+/).filter(Boolean)) {
        assert(path.startsWith("-"), `${name}: ${path} would fail the unit while it is missing`);
      }
    }
    assert.match(text, /^RuntimeDirectory=tattle$/m, `${name}: /run/tattle exists for the unit`);
    assert.match(text, /^RuntimeDirectoryPreserve=yes$/m, `${name}: and survives it`);
  }
  assert.match(unit("tattle-flush.timer"), /^RandomizedDelaySec=\d+s$/m);
  assert.match(unit("tattle-flush.service"), /^SuccessExitStatus=75$/m, "65 and 69 fail the unit");
  assert.match(unit("tattle-sender.service"), /--resident/);
});
