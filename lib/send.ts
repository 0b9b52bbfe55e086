/**
 * Sending one event now, within the run's deadline.
 *
 * @module
 */

import type { Config } from "./config.ts";
import { credentialsFor } from "./credentials.ts";
import type { Deadline } from "./deadline.ts";
import { unavailableError } from "./errors.ts";
import type { EventEntry, Identity } from "./event.ts";
import { eventsEndpoint } from "./partition.ts";

/** The environment the AWS SDK reads settings from that tattle's config decides. */
export function sdkEnvironment(config: Config): Record<string, string> {
  // The SDK's instance-role credential provider takes its IMDS endpoint from
  // the environment only; this is how `imds_endpoint` reaches it.
  // When the SDK's chain is used (profile, trust_environment, identity none), its
  // instance-role provider must never fall back to IMDSv1 either.
  return {
    AWS_EC2_METADATA_SERVICE_ENDPOINT: config.imds_endpoint,
    AWS_EC2_METADATA_V1_DISABLED: "true",
  };
}

/**
 * Publishes `entry` and returns its EventId.
 *
 * @throws {TattleError} exit 69 with EventBridge's error code and message.
 */
export async function sendEntry(
  entry: EventEntry,
  config: Config,
  identity: Identity,
  deadline: Deadline,
): Promise<string> {
  const { publish } = await import("./eventbridge.ts");
  const region = config.region ?? identity.region;
  const [result] = await publish([entry], {
    region,
    endpoint: config.endpoint_url,
    credentials: credentialsFor(config),
    caBundle: config.ca_bundle,
    profile: config.profile,
    deadline,
  });
  if (result.ok) return result.eventId;
  throw unavailableError(publishFailure(result, region, config));
}

/** One line for a failed PutEvents entry, naming the endpoint, for the hook and flush alike. */
export function publishFailure(
  failure: { code: string; message: string },
  region: string,
  config: Pick<Config, "endpoint_url" | "timeout">,
): string {
  const where = `EventBridge at ${eventsEndpoint(region, config.endpoint_url)}`;
  return failure.code === "Timeout"
    ? `${where} did not answer within the ${config.timeout} s timeout`
    : `${where} did not accept the event: ${failure.code}: ${failure.message}`;
}
