import assert from "node:assert/strict";
import { deadlineIn } from "../lib/deadline.ts";
import { EXIT, TattleError } from "../lib/errors.ts";
import { fetchIdentity, parseIdentityDocument } from "../lib/imds.ts";
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
    assert.match(error.message, new RegExp(`^IMDS at ${endpoint} did not answer`));
    assert.match(error.message, pattern);
    assert.match(error.message, /--identity none --region REGION/);
    return true;
  });
  const elapsed = performance.now() - started;
  assert(elapsed < timeoutMs + 500, `took ${elapsed.toFixed(0)} ms`);
}

Deno.test("IMDS faults are exit 69 within the deadline", async (t) => {
  await t.step("refused", () => assertUnavailable(refusedUrl(), /ECONNREFUSED|refused/i));
  await t.step("accepts TCP, never answers", async () => {
    await using silent = startSilentServer();
    await assertUnavailable(silent.url, /before the timeout|timeout/i);
  });
  for (const fault of ["hang", "500", "no-document", "no-v2"] as const) {
    await t.step(fault, async () => {
      await using imds = startFakeImds();
      imds.fault = fault;
      await assertUnavailable(imds.url, /./);
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
