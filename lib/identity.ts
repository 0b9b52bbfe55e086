/**
 * Where tattle runs: the EC2 instance (IMDSv2) or the static identity the
 * config gives outside EC2.
 *
 * @module
 */

import type { Config } from "./config.ts";
import type { Deadline } from "./deadline.ts";
import type { Identity } from "./event.ts";

/**
 * Resolves the identity the config asks for. The IMDS client is imported only
 * when it is used, so runs outside EC2 never load it.
 */
export async function resolveIdentity(config: Config, deadline: Deadline): Promise<Identity> {
  if (config.identity === "none") {
    return { region: config.region!, resources: config.resources };
  }
  const { fetchIdentity } = await import("./imds.ts");
  return await fetchIdentity(config.imds_endpoint, deadline);
}
