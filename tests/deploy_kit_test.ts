import assert from "node:assert/strict";
import { DEFAULTS } from "../lib/config/config.ts";
import { identityOf } from "../lib/aws/imds.ts";
import { type PutEventsEntry, putEventsEntry } from "../lib/aws/entry.ts";
import { buildEvent } from "../lib/event/build.ts";
import { FAKE_DOCUMENT } from "./fakes/imds.ts";
import { record } from "./support/records.ts";
import { matches, transform } from "./support/event_pattern.ts";
import { ROOT } from "./support/tattle.ts";

const template = JSON.parse(await Deno.readTextFile(`${ROOT}contrib/cloudformation.json`));
const policy = JSON.parse(await Deno.readTextFile(`${ROOT}contrib/iam-policy.json`));

/** An entry as EventBridge delivers it to rules and targets. */
function delivered(entry: PutEventsEntry): Record<string, unknown> {
  return {
    version: "0",
    id: crypto.randomUUID(),
    "detail-type": entry.DetailType,
    source: entry.Source,
    account: FAKE_DOCUMENT.accountId,
    time: entry.Time,
    region: FAKE_DOCUMENT.region,
    resources: entry.Resources,
    detail: JSON.parse(entry.Detail),
  };
}

async function tattleEvent(state: "opened" | "closed", source: string = DEFAULTS.source) {
  const r = record(1, { identity: identityOf(FAKE_DOCUMENT) });
  r.session = { ...r.session, user: "alice", rhost: "203.0.113.9", state };
  return delivered(
    putEventsEntry(await buildEvent(r, r.identity!, { ...DEFAULTS, source }, "test")),
  );
}

Deno.test("the CloudFormation template has the rule, topic, subscription and topic policy", () => {
  const types = Object.values(template.Resources as Record<string, { Type: string }>).map((r) =>
    r.Type
  ).sort();
  assert.deepEqual(types, [
    "AWS::Events::Rule",
    "AWS::SNS::Subscription",
    "AWS::SNS::Topic",
    "AWS::SNS::TopicPolicy",
  ]);
  assert.deepEqual(Object.keys(template.Parameters).sort(), ["AlertEmail", "EventBusName"]);
  const rule = template.Resources.SessionRule.Properties;
  assert.deepEqual(rule.EventBusName, { Ref: "EventBusName" });
  assert.deepEqual(template.Resources.SessionSubscription.Properties.Protocol, "email");
  const statement = template.Resources.SessionTopicPolicy.Properties.PolicyDocument.Statement[0];
  assert.equal(statement.Principal.Service, "events.amazonaws.com");
  assert.equal(statement.Action, "sns:Publish");
  // Every Ref names a parameter or resource that exists.
  const names = new Set([...Object.keys(template.Parameters), ...Object.keys(template.Resources)]);
  const refs = [...JSON.stringify(template).matchAll(/"Ref":"([^"]+)"/g)].map((m) => m[1]);
  assert(refs.every((r) => names.has(r)), refs.join(", "));
});

Deno.test("the rule's pattern matches tattle's events and no others", async () => {
  const pattern = template.Resources.SessionRule.Properties.EventPattern;
  assert(matches(pattern, await tattleEvent("opened")));
  assert(matches(pattern, await tattleEvent("closed")));
  assert(!matches(pattern, await tattleEvent("opened", "com.example.other")));
  assert(
    !matches(pattern, {
      source: "aws.ec2",
      "detail-type": "EC2 Instance State-change Notification",
    }),
  );
});

Deno.test("the input transformer makes the one-line human message", async () => {
  const target = template.Resources.SessionRule.Properties.Targets[0];
  assert.equal(
    transform(target.InputTransformer, await tattleEvent("opened")),
    `"alice opened an SSH session on ${FAKE_DOCUMENT.instanceId} from 203.0.113.9"`,
  );
  assert.equal(
    transform(target.InputTransformer, await tattleEvent("closed")),
    `"alice closed an SSH session on ${FAKE_DOCUMENT.instanceId} from 203.0.113.9"`,
  );
});

Deno.test("the IAM policy allows only events:PutEvents, for tattle's source", () => {
  assert.equal(policy.Version, "2012-10-17");
  assert.equal(policy.Statement.length, 1);
  const [statement] = policy.Statement;
  assert.equal(statement.Effect, "Allow");
  assert.equal(statement.Action, "events:PutEvents");
  assert.match(statement.Resource, /^arn:aws:events:\*:\*:event-bus\//);
  assert.equal(statement.Condition.StringEquals["events:source"], DEFAULTS.source);
});
