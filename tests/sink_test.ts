/** The sink a config gets: instance role credentials asked for while the SDK loads, once. */

import assert from "node:assert/strict";
import { sinkFor } from "../lib/aws/sink.ts";
import { DEFAULTS } from "../lib/config/config.ts";
import { startFakeEventBridge } from "./fakes/eventbridge.ts";
import { sessionEvent } from "./support/records.ts";
import { FAKE_ROLE, startFakeImds } from "./fakes/imds.ts";

const CREDENTIAL_REQUESTS = [
  "PUT /latest/api/token",
  "GET /latest/meta-data/iam/security-credentials/",
  `GET /latest/meta-data/iam/security-credentials/${FAKE_ROLE.name}`,
];

Deno.test("sinkFor asks IMDS for the role's credentials before any send, and only once", async () => {
  await using imds = startFakeImds();
  await using events = startFakeEventBridge({
    [FAKE_ROLE.accessKeyId]: FAKE_ROLE.secretAccessKey,
  });
  const config = { ...DEFAULTS, imds_endpoint: imds.url, endpoint_url: events.url, timeout: 2 };
  const sink = await sinkFor(config, "us-east-1");
  try {
    await new Promise((r) => setTimeout(r, 200)); // the early fetch answers, no send yet
    assert.deepEqual(imds.requests, CREDENTIAL_REQUESTS, "asked before the first send");
    assert.equal(events.requestCount, 0);
    for (const n of [1, 2]) {
      const [delivery] = await sink.send([sessionEvent(n)], AbortSignal.timeout(2000));
      assert.equal(delivery.ok, true, JSON.stringify(delivery));
    }
    assert.deepEqual(imds.requests, CREDENTIAL_REQUESTS, "the SDK reused them");
  } finally {
    sink.close();
  }
});

Deno.test("sinkFor: an early fetch that failed is asked again at the first send", async () => {
  await using imds = startFakeImds();
  imds.fault = "500";
  await using events = startFakeEventBridge({
    [FAKE_ROLE.accessKeyId]: FAKE_ROLE.secretAccessKey,
  });
  const config = { ...DEFAULTS, imds_endpoint: imds.url, endpoint_url: events.url, timeout: 1 };
  const sink = await sinkFor(config, "us-east-1");
  try {
    await new Promise((r) => setTimeout(r, 200)); // the early fetch has failed
    imds.fault = "none";
    const [delivery] = await sink.send([sessionEvent(1)], AbortSignal.timeout(2000));
    assert.equal(delivery.ok, true, JSON.stringify(delivery));
  } finally {
    sink.close();
  }
});

Deno.test("sinkFor: credentials that fail early and again fail the first send with IMDS's reason", async () => {
  await using imds = startFakeImds();
  imds.fault = "500";
  await using events = startFakeEventBridge({});
  const config = { ...DEFAULTS, imds_endpoint: imds.url, endpoint_url: events.url, timeout: 1 };
  const sink = await sinkFor(config, "us-east-1");
  try {
    const [delivery] = await sink.send([sessionEvent(1)], AbortSignal.timeout(2000));
    assert(!delivery.ok);
    assert.equal(delivery.code, "ImdsError");
    assert.equal(delivery.disposition, "retry", "IMDS may answer later");
    assert.match(delivery.message, /gave no instance role credentials: answered HTTP 500/);
    assert.equal(events.requestCount, 0, "nothing unsigned was sent");
  } finally {
    sink.close();
  }
});
