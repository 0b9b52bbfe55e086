/**
 * The host identity, cached for the life of the boot so that a login needs no
 * IMDS call (I/O).
 *
 * An instance's identity never changes while it runs. The cache records when
 * the machine booted (lib/host/boot.ts), so a cache from another boot (or
 * from an image made of this instance) is never used.
 *
 * The cache is the sender's: it lives in `state_dir`, which the sender's
 * account owns. Another process (root's, by hand) neither reads nor writes
 * it there, as a file another account can replace must never be opened by
 * root; it asks IMDS instead.
 *
 * @module
 */

import { type Infer, number, object, string } from "../util/shape.ts";
import { replaceFile } from "../util/files.ts";
import { IDENTITY, type Identity } from "../event/identity.ts";
import { sameBoot } from "../host/boot.ts";

const CACHE = object({ boot_time: number(), endpoint: string(), identity: IDENTITY });

/** The cache file in a state directory. */
export function identityCachePath(stateDir: string): string {
  return `${stateDir}/identity.json`;
}

/** The cached identity, if it was written in this boot for this IMDS endpoint. */
export async function readCachedIdentity(
  stateDir: string,
  boot: number | undefined,
  endpoint: string,
): Promise<Identity | undefined> {
  if (boot === undefined || !(await ownDirectory(stateDir))) return undefined;
  let cached: Infer<typeof CACHE>;
  try {
    const path = identityCachePath(stateDir);
    if (!(await Deno.lstat(path)).isFile) return undefined;
    cached = CACHE.parse(JSON.parse(await Deno.readTextFile(path)));
  } catch {
    return undefined; // absent, damaged or a symlink: IMDS answers instead
  }
  return sameBoot(cached.boot_time, boot) && cached.endpoint === endpoint
    ? cached.identity
    : undefined;
}

/**
 * Caches the identity for this boot (0600, atomically).
 *
 * @throws {Error} when the cache cannot be written; callers say so, as the
 * next login will need IMDS again.
 */
export async function writeCachedIdentity(
  stateDir: string,
  boot: number | undefined,
  endpoint: string,
  identity: Identity,
): Promise<void> {
  if (boot === undefined || !(await ownDirectory(stateDir))) return;
  const path = identityCachePath(stateDir);
  const cache: Infer<typeof CACHE> = { boot_time: boot, endpoint, identity };
  await replaceFile(path, JSON.stringify(cache));
}

/** Whether `dir` belongs to this process's user. */
async function ownDirectory(dir: string): Promise<boolean> {
  try {
    return (await Deno.lstat(dir)).uid === Deno.uid();
  } catch {
    return false;
  }
}
