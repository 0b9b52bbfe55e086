/**
 * Where tattle runs: the EC2 instance (IMDSv2, cached for the boot) or the
 * static identity the config gives outside EC2.
 *
 * @module
 */

import type { Config } from "../config/config.ts";
import type { Deadline } from "../util/deadline.ts";
import { messageOf } from "../util/errors.ts";
import { type Identity, staticIdentity } from "../event/identity.ts";
import { bootTime } from "../host/boot.ts";
import { readCachedIdentity, writeCachedIdentity } from "./identity_cache.ts";

export { type Identity, staticIdentity } from "../event/identity.ts";

/** The identity if it is known without a network call (static, or cached this boot). */
export async function knownIdentity(config: Config): Promise<Identity | undefined> {
  if (config.identity === "none") return staticIdentity(config);
  return await readCachedIdentity(config.state_dir, bootTime(), config.imds_endpoint);
}

/**
 * Resolves the identity the config asks for, from the cache or IMDS, and
 * caches what IMDS said. A cache that cannot be written is reported through
 * `warn`: the identity is still good, the next login asks IMDS again.
 *
 * @throws {TattleError} exit 69 when IMDS cannot tell.
 */
export async function resolveIdentity(
  config: Config,
  deadline: Deadline,
  warn: (line: string) => void,
): Promise<Identity> {
  const known = await knownIdentity(config);
  if (known) return known;
  const { fetchIdentity } = await import("./imds.ts");
  const identity = await fetchIdentity(config.imds_endpoint, deadline);
  try {
    await writeCachedIdentity(config.state_dir, bootTime(), config.imds_endpoint, identity);
  } catch (error) {
    warn(
      `warning: identity cache ${config.state_dir}/identity.json not written: ${messageOf(error)}`,
    );
  }
  return identity;
}
