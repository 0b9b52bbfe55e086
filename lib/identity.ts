/**
 * Where tattle runs: the EC2 instance (IMDSv2, cached for the boot) or the
 * static identity the config gives outside EC2.
 *
 * @module
 */

import type { Config } from "./config.ts";
import type { Deadline } from "./deadline.ts";
import type { Identity } from "./event.ts";
import { bootId, readCachedIdentity, writeCachedIdentity } from "./identity_cache.ts";

/** The identity if it is known without a network call (static, or cached this boot). */
export async function knownIdentity(config: Config): Promise<Identity | undefined> {
  if (config.identity === "none") return { region: config.region!, resources: config.resources };
  return await readCachedIdentity(config.state_dir, await bootId(), config.imds_endpoint);
}

/**
 * Resolves the identity the config asks for, from the cache or IMDS. The
 * IMDS client is imported only when it is used, so logins that find the
 * identity cached never load it.
 *
 * @throws {TattleError} exit 69 when IMDS cannot tell.
 */
export async function resolveIdentity(config: Config, deadline: Deadline): Promise<Identity> {
  const known = await knownIdentity(config);
  if (known) return known;
  const { fetchIdentity } = await import("./imds.ts");
  const identity = await fetchIdentity(config.imds_endpoint, deadline);
  await writeCachedIdentity(config.state_dir, await bootId(), config.imds_endpoint, identity);
  return identity;
}
