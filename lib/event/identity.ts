/**
 * Where an event happened, declared once (pure): the instance on EC2, or
 * what the config says outside EC2.
 *
 * @module
 */

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
