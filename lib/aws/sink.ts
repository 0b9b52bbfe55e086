/**
 * The sink a config asks for, and the SDK settings that come from the config.
 *
 * @module
 */

import type { Config } from "../config/config.ts";
import type { Sink } from "../delivery/sink.ts";
import { credentialsFor } from "./credentials.ts";

/**
 * The EventBridge sink for `config`, in `region`. The AWS SDK is imported
 * here, on use: the background hook never loads it.
 */
export async function sinkFor(config: Config, region: string): Promise<Sink> {
  const { eventBridgeSink } = await import("./eventbridge.ts");
  return await eventBridgeSink({
    region,
    endpoint: config.endpoint_url,
    eventBus: config.event_bus,
    credentials: credentialsFor(config),
    profile: config.profile,
    caBundle: config.ca_bundle,
  });
}

/** The environment the AWS SDK reads settings from that tattle's config decides. */
export function sdkEnvironment(config: Config): Record<string, string> {
  // The SDK's own instance-role provider (profile, trust_environment, identity
  // none) takes its IMDS endpoint from the environment only, and must never
  // fall back to IMDSv1 either.
  return {
    AWS_EC2_METADATA_SERVICE_ENDPOINT: config.imds_endpoint,
    AWS_EC2_METADATA_V1_DISABLED: "true",
  };
}
