import assert from "node:assert/strict";
import { deadlineIn } from "../lib/util/deadline.ts";
import { EXIT, TattleError } from "../lib/util/errors.ts";
import {
  fetchIdentity,
  instanceRoleCredentials,
  MAX_IMDS_BYTES,
  parseIdentityDocument,
} from "../lib/aws/imds.ts";
import { FAKE_DOCUMENT, startFakeImds } from "./fakes/imds.ts";
import { refusedUrl, startSilentServer } from "./fakes/silent.ts";

Deno.test("IMDSv2: a token first, then the identity document, at the right path", async () => {
  await using imds = startFakeImds();
  const identity = await fetchIdentity(imds.url, deadlineIn(2000));
  assert.deepEqual(identity, {
    region: "us-east-1",
    instanceId: FAKE_DOCUMENT.instanceId,
    resources: [`arn:aws:ec2:us-east-1:123456789012:instance/${FAKE_DOCUMENT.instanceId}`],
  });
  assert.deepEqual(imds.requests, [
    "PUT /latest/api/token",
    "GET /latest/dynamic/instance-identity/document",
  ]);
});

Deno.test("the instance ARN uses the document's partition", async () => {
  await using imds = startFakeImds();
  imds.document = { ...FAKE_DOCUMENT, region: "cn-northwest-1" };
  const identity = await fetchIdentity(imds.url, deadlineIn(2000));
  assert.match(identity.resources[0], /^arn:aws-cn:ec2:cn-northwest-1:/);
});

async function assertUnavailable(endpoint: string, pattern: RegExp, timeoutMs = 600) {
  const started = performance.now();
  await assert.rejects(fetchIdentity(endpoint, deadlineIn(timeoutMs)), (error: unknown) => {
    assert(error instanceof TattleError, String(error));
    assert.equal(error.exitCode, EXIT.UNAVAILABLE);
    assert.match(error.message, new RegExp(`^IMDS at ${endpoint} `));
    assert.match(error.message, pattern);
    assert.match(error.message, /--identity none --region REGION/);
    return true;
  });
  const elapsed = performance.now() - started;
  assert(elapsed < timeoutMs + 500, `took ${elapsed.toFixed(0)} ms`);
}

Deno.test("IMDS faults are exit 69 within the deadline", async (t) => {
  await t.step(
    "refused",
    () => assertUnavailable(refusedUrl(), /did not answer: connection refused/),
  );
  await t.step("accepts TCP, never answers", async () => {
    await using silent = startSilentServer();
    await assertUnavailable(silent.url, /did not answer before the timeout/);
  });
  const expected = {
    "hang": /did not answer before the timeout/,
    "500": /answered HTTP 500/,
    "no-document": /answered HTTP 404/,
    "no-v2": /refused an IMDSv2 token/,
  };
  for (const [fault, pattern] of Object.entries(expected)) {
    await t.step(fault, async () => {
      await using imds = startFakeImds();
      imds.fault = fault as keyof typeof expected;
      await assertUnavailable(imds.url, pattern);
      if (fault === "no-v2") {
        assert(!imds.requests.some((r) => r.startsWith("GET")), "no IMDSv1 fallback");
      }
    });
  }
});

Deno.test("identity documents without the needed fields are rejected", () => {
  assert.equal(parseIdentityDocument("{}"), undefined);
  assert.equal(parseIdentityDocument("null"), undefined);
  assert.equal(parseIdentityDocument("<html>"), undefined);
  assert.equal(
    parseIdentityDocument('{"accountId":"1","region":"us-east-1","instanceId":"i-1/../x"}'),
    undefined,
  );
});

Deno.test("an endless IMDS answer is cut at the size bound, quickly", async () => {
  await using imds = startFakeImds();
  imds.fault = "endless";
  const started = performance.now();
  await assertUnavailable(imds.url, new RegExp(`answered with more than ${MAX_IMDS_BYTES} bytes`));
  assert(performance.now() - started < 500, "cut at the bound, not at the deadline");
});

Deno.test("role credentials: IMDSv2 only, never without a token", async (t) => {
  await t.step("healthy: token, role name, credentials", async () => {
    await using imds = startFakeImds();
    const credentials = await instanceRoleCredentials(imds.url, 1000)();
    assert.equal(credentials.accessKeyId, "ASIAFAKEROLEKEY00001");
    assert(credentials.expiration.getTime() > Date.now());
    assert.deepEqual(imds.v1Requests, []);
  });
  await t.step(
    "token PUT unanswered (hop limit 1), IMDSv1 open: no request without a token",
    async () => {
      await using imds = startFakeImds();
      imds.fault = "token-unanswered-v1-open";
      await assert.rejects(
        instanceRoleCredentials(imds.url, 300)(),
        /did not answer before the timeout/,
      );
      assert.deepEqual(imds.v1Requests, []);
    },
  );
  await t.step("endless credentials: cut at the bound", async () => {
    await using imds = startFakeImds();
    imds.fault = "endless";
    await assert.rejects(instanceRoleCredentials(imds.url, 1000)(), /more than 65536 bytes/);
  });
});
