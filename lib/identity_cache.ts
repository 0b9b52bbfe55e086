/**
 * The host identity, cached for the life of the boot so that a login needs no
 * IMDS call (I/O).
 *
 * An instance's identity never changes while it runs; the cache lives in a
 * tmpfs (/run) and records the boot id, so a cache from another boot (or an
 * image made from this instance) is never used.
 *
 * @module
 */

import type { Identity } from "./event.ts";

/** Where the kernel publishes this boot's random id. */
export const BOOT_ID_PATH = "/proc/sys/kernel/random/boot_id";

/** The cache file in a state directory. */
export function identityCachePath(stateDir: string): string {
  return `${stateDir}/identity.json`;
}

/** This boot's id, or `undefined` where it cannot be read (then nothing is cached). */
export async function bootId(path = BOOT_ID_PATH): Promise<string | undefined> {
  try {
    return (await Deno.readTextFile(path)).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The cached identity, if it was written in this boot for this IMDS endpoint. */
export async function readCachedIdentity(
  stateDir: string,
  boot: string | undefined,
  endpoint: string,
): Promise<Identity | undefined> {
  if (!boot) return undefined;
  try {
    const path = identityCachePath(stateDir);
    const info = await Deno.lstat(path);
    if (!info.isFile) return undefined;
    const cached = JSON.parse(await Deno.readTextFile(path));
    if (cached?.boot_id !== boot || cached?.endpoint !== endpoint) return undefined;
    const identity = cached.identity;
    const valid = typeof identity?.region === "string" && Array.isArray(identity?.resources) &&
      identity.resources.every((r: unknown) => typeof r === "string");
    return valid ? identity : undefined;
  } catch {
    return undefined;
  }
}

/** Caches the identity for this boot (0600, atomically). Failures are ignored: it is a cache. */
export async function writeCachedIdentity(
  stateDir: string,
  boot: string | undefined,
  endpoint: string,
  identity: Identity,
): Promise<void> {
  if (!boot) return;
  try {
    await Deno.mkdir(stateDir, { recursive: true, mode: 0o700 });
    const path = identityCachePath(stateDir);
    const tmp = `${path}.${crypto.randomUUID()}.tmp`;
    await Deno.writeTextFile(tmp, JSON.stringify({ boot_id: boot, endpoint, identity }), {
      mode: 0o600,
      createNew: true,
    });
    await Deno.rename(tmp, path);
  } catch {
    // A missing cache costs one IMDS call next time, nothing more.
  }
}
