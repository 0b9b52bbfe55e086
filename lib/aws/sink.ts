/**
 * The sink a config asks for.
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
