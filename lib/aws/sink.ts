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
 * here, on use: the background hook never loads it. Instance role
 * credentials are asked for first, so IMDS answers while the SDK loads.
 */
export async function sinkFor(config: Config, region: string): Promise<Sink> {
  const provider = credentialsFor(config);
  const credentials = provider && startedEarly(provider);
  const { eventBridgeSink } = await import("./eventbridge.ts");
  return await eventBridgeSink({
    region,
    endpoint: config.endpoint_url,
    eventBus: config.event_bus,
    credentials,
    profile: config.profile,
    caBundle: config.ca_bundle,
  });
}

/**
 * `provider`, already called once: its first caller gets that answer, or,
 * when that early call failed (its timeout ran while a slow start went on),
 * a new call; later callers (the SDK refreshing) a new call.
 */
function startedEarly<T>(provider: () => Promise<T>): () => Promise<T> {
  let early: Promise<T> | undefined = provider();
  early.catch(() => {}); // not lost: the first caller then asks again
  return () => {
    const answer = early?.catch(() => provider()) ?? provider();
    early = undefined;
    return answer;
  };
}
