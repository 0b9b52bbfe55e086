/**
 * Where an event happened, declared once (pure): the instance on EC2, or
 * what the config says outside EC2.
 *
 * @module
 */

import type { Config } from "../config/config.ts";
import { array, type Infer, object, optional, string } from "../util/shape.ts";

/** Where tattle runs, as the event reports it. */
export const IDENTITY = object({
  region: string({ min: 1 }),
  /** Set on EC2 only. */
  instanceId: optional(string()),
  /** The event's Resources: the instance ARN on EC2, configured ARNs otherwise. */
  resources: array(string()),
});

/** Where tattle runs. */
export type Identity = Infer<typeof IDENTITY>;

/** The identity a config gives outside EC2 (`identity: "none"`). */
export function staticIdentity(config: Pick<Config, "region" | "resources">): Identity {
  // resolveConfig guarantees a region with identity "none".
  return { region: config.region ?? "", resources: config.resources };
}
