/**
 * The settings' paths against what the runtime lets tattle use (I/O: asks
 * the runtime's permissions). The binary's permission set is fixed when it
 * is built: a spool or a state directory outside it would fail at its first
 * use with the runtime's own error, which names a flag an operator of the
 * binary cannot add. So it is refused up front, as a configuration error
 * that names the setting and the paths the binary may use.
 *
 * @module
 */

import type { Config } from "./config.ts";
import { configError, type TattleError } from "../util/errors.ts";

type Access = "read" | "write";

/**
 * What each directory setting needs. Not the files that only add to
 * delivery (syslog_socket, metrics_file: their failure is a warning, and must
 * not stop a login's event from being spooled).
 */
export const PATH_SETTINGS = {
  spool_dir: ["read", "write"],
  state_dir: ["read", "write"],
  runtime_dir: ["read", "write"],
} as const satisfies Partial<Record<keyof Config, readonly Access[]>>;

/** Whether the runtime grants `access` to `path`. */
export type Granted = (access: Access, path: string) => boolean;

const granted: Granted = (access, path) =>
  Deno.permissions.querySync({ name: access, path }).state === "granted";

/**
 * @throws {TattleError} exit 78 for the first path setting outside what the
 * runtime allows, naming it and the allowed paths.
 */
export async function assertReachable(
  config: Pick<Config, keyof typeof PATH_SETTINGS>,
  isGranted: Granted = granted,
): Promise<void> {
  for (const [setting, needs] of Object.entries(PATH_SETTINGS)) {
    const path = config[setting as keyof typeof PATH_SETTINGS];
    await assertPathReachable(setting, path, [...needs], isGranted);
  }
}

/**
 * @throws {TattleError} exit 78 when `path` (what `what` names, e.g. the
 * config file) lacks `needs`.
 */
export async function assertPathReachable(
  what: string,
  path: string,
  needs: Access[],
  isGranted: Granted = granted,
): Promise<void> {
  const missing = needs.filter((access) => !isGranted(access, path));
  if (missing.length > 0) throw await outsideError(`${what} ${path}`, missing);
}

/**
 * @throws {TattleError} exit 78 when `--root DIR` lacks `needs`: no path of
 * the permission set helps there, so the message says what to do instead.
 */
export function assertRootReachable(
  command: string,
  root: string,
  needs: Access[],
  isGranted: Granted = granted,
): void {
  if (root === "/" || needs.every((access) => isGranted(access, root))) return;
  const flags = needs.map((access) => `--allow-${access}=${root}`).join(" ");
  throw configError(
    `${command} --root ${root}: the binary may not ${needs.join(" or ")} there (its permission ` +
      `set is fixed when it is built). --root is for tests and image builds under deno run ` +
      `(deno run -P=tattle ${flags} main.ts ${command} --root ${root}); to prepare an image, ` +
      `run tattle ${command} inside it (chroot ${root} tattle ${command}) or install the package ` +
      "into it",
  );
}

/** The error for `what`, with the paths the binary may use for `missing`. */
async function outsideError(what: string, missing: Access[]): Promise<TattleError> {
  // Loaded only here: a login that goes well never reads the permission set.
  const { PERMISSION_SET } = await import("../cli/permissions.ts");
  const allowed = missing.map((access) => {
    const paths = PERMISSION_SET[access];
    return `${access}: ${Array.isArray(paths) ? paths.join(", ") : "any"}`;
  });
  return configError(
    `${what} is outside what tattle may ${missing.join(" and ")} (its permission set, fixed ` +
      `when the binary is built): use a path under these; ${allowed.join("; ")}`,
  );
}
