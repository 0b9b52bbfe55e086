/**
 * The AWS SDK settings that follow from tattle's config (pure).
 *
 * @module
 */

import type { Config } from "../config/config.ts";

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
