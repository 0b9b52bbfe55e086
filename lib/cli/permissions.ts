/**
 * The runtime permission set, defined once as `permissions.tattle` in
 * deno.json (used by `deno task tattle`, `deno task compile` and the tests),
 * turned into `--allow-*` flags for `deno run`.
 *
 * @module
 */

import denoJson from "../../deno.json" with { type: "json" };

type PermissionSet = Record<string, boolean | string[]>;

/** deno.json's `tattle` permission set. */
export const PERMISSION_SET: Readonly<PermissionSet> =
  (denoJson.permissions as Record<string, PermissionSet>).tattle;

/** Paths added to the set, e.g. a test's temporary directories. */
export interface ExtraPaths {
  read?: string[];
  write?: string[];
  /** Programs it may run besides the set's (under `deno run`, tattle's executable is deno). */
  run?: string[];
}

/** The set's `--allow-*` flags, with `extra` paths added. */
export function permissionFlags(extra: ExtraPaths = {}): string[] {
  const lists: Record<string, boolean | string[]> = { ...PERMISSION_SET };
  for (const name of ["read", "write", "run"] as const) {
    const base = lists[name];
    if (extra[name]?.length && base !== true) lists[name] = [...(base || []), ...extra[name]!];
  }
  return Object.entries(lists).flatMap(([name, value]) => {
    if (value === true) return [`--allow-${name}`];
    if (Array.isArray(value) && value.length > 0) return [`--allow-${name}=${value.join(",")}`];
    return [];
  });
}
