/**
 * The config refuses what EventBridge would refuse: its limits are
 * compared with botocore's service model of `events` (the model the AWS
 * SDKs and CLI are built from). Skips with the reason where botocore is
 * missing; with CI=true that is a failure.
 */

import assert from "node:assert/strict";
import { EVENTBRIDGE_LIMITS } from "../lib/config/settings.ts";

const script = `
import botocore.session, json
model = botocore.session.get_session().get_service_model("events")
shape = lambda name: model.shape_for(name)
entry = shape("PutEventsRequestEntry")
print(json.dumps({
  "eventBus": {"max": entry.members["EventBusName"].metadata.get("max"),
               "pattern": entry.members["EventBusName"].metadata.get("pattern")},
  "resource": shape("EventResource").metadata.get("max"),
  "entries": shape("PutEventsRequestEntryList").metadata.get("max"),
  "detailTypeDoc": entry.members["DetailType"].documentation,
}))
`;
const out = new Deno.Command("python3", { args: ["-c", script] }).outputSync();
const missing = out.code === 0 ? undefined : "python3 lacks botocore (pip install botocore)";
if (missing && Deno.env.get("CI") === "true") throw new Error(missing);

Deno.test({
  name: "the config's EventBridge limits are the service model's",
  ignore: missing !== undefined,
  fn() {
    const model = JSON.parse(new TextDecoder().decode(out.stdout));
    assert.equal(EVENTBRIDGE_LIMITS.eventBus.max, model.eventBus.max);
    assert.equal(EVENTBRIDGE_LIMITS.eventBus.pattern.source, `^${model.eventBus.pattern}$`);
    assert.equal(EVENTBRIDGE_LIMITS.resource, model.resource);
    assert.equal(EVENTBRIDGE_LIMITS.entriesPerCall, model.entries);
    assert.match(
      model.detailTypeDoc,
      new RegExp(`maximum of ${EVENTBRIDGE_LIMITS.detailType} characters`),
    );
  },
});
