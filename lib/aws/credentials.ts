/**
 * Where tattle's AWS credentials come from.
 *
 * @module
 */

import type { Config } from "../config/config.ts";
import { instanceRoleCredentials, type RoleCredentials } from "./imds.ts";

/**
 * On EC2 the instance role, from tattle's own IMDSv2 client (bounded reads,
 * never IMDSv1); `undefined` means the AWS SDK's default chain, which tattle
 * uses only when the config asks for it: a `profile`, `trust_environment`,
 * or `identity: "none"` (outside EC2).
 */
export function credentialsFor(config: Config): (() => Promise<RoleCredentials>) | undefined {
  const instanceRole = config.identity === "imds" && !config.profile && !config.trust_environment;
  return instanceRole
    ? instanceRoleCredentials(config.imds_endpoint, config.timeout * 1000)
    : undefined;
}
