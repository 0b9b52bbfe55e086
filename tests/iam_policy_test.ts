/**
 * contrib/iam-policy.json judged by a real IAM policy evaluator
 * (@cloud-copilot/iam-simulate, a test-only dependency): tattle's request is
 * allowed in every partition; another source, no source, or another bus is
 * not. Real IAM cannot be reached from here.
 */

import assert from "node:assert/strict";
import { runSimulation, type Simulation } from "@cloud-copilot/iam-simulate";
import { DEFAULTS } from "../lib/config/config.ts";
import { ROOT } from "./support/tattle.ts";

const policy = JSON.parse(await Deno.readTextFile(`${ROOT}contrib/iam-policy.json`));
const ACCOUNT = "123456789012";

async function decide(
  policyDocument: unknown,
  request: { partition?: string; region?: string; bus?: string; sources?: string[] },
): Promise<string> {
  const { partition = "aws", region = "us-east-1", bus = "default" } = request;
  const simulation: Simulation = {
    identityPolicies: [{ name: "tattle", policy: policyDocument as Record<string, unknown> }],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    request: {
      action: "events:PutEvents",
      principal: `arn:${partition}:iam::${ACCOUNT}:role/tattle-instance-role`,
      resource: {
        accountId: ACCOUNT,
        resource: `arn:${partition}:events:${region}:${ACCOUNT}:event-bus/${bus}`,
      },
      // events:source is multivalued: one value per entry of the request.
      contextVariables: request.sources ? { "events:source": request.sources } : {},
    },
  } as Simulation;
  const response = await runSimulation(simulation, {});
  if (response.resultType === "error") throw new Error(JSON.stringify(response.errors));
  return response.overallResult;
}

Deno.test("tattle's PutEvents is allowed, in every partition", async () => {
  for (
    const [partition, region] of [["aws", "us-east-1"], ["aws-cn", "cn-north-1"], [
      "aws-us-gov",
      "us-gov-west-1",
    ]]
  ) {
    assert.equal(
      await decide(policy, { partition, region, sources: [DEFAULTS.source] }),
      "Allowed",
      partition,
    );
  }
  assert.equal(
    await decide(policy, { sources: [DEFAULTS.source, DEFAULTS.source] }),
    "Allowed",
    "a batch",
  );
});

Deno.test("another source, a mix, no source at all, or another bus is denied", async () => {
  assert.notEqual(await decide(policy, { sources: ["com.example.other"] }), "Allowed");
  assert.notEqual(
    await decide(policy, { sources: [DEFAULTS.source, "com.example.other"] }),
    "Allowed",
  );
  assert.notEqual(await decide(policy, {}), "Allowed", "no source: the Null check");
  assert.notEqual(await decide(policy, { bus: "other", sources: [DEFAULTS.source] }), "Allowed");
});

Deno.test("the evaluator catches the flaw of the policy 0.1.0 shipped (plain StringEquals)", async () => {
  const old = JSON.parse(await Deno.readTextFile(`${ROOT}tests/fixtures/iam-policy-0.1.0.json`));
  assert.notEqual(await decide(old, { sources: [DEFAULTS.source] }), "Allowed");
  assert.notEqual(
    await decide(old, { partition: "aws-cn", region: "cn-north-1", sources: [DEFAULTS.source] }),
    "Allowed",
  );
});
