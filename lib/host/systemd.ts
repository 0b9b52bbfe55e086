/**
 * What tattle needs to know of systemd: whether it manages this host, and
 * the socket it hands a socket-activated service (I/O).
 *
 * @module
 */

/** Exists exactly when systemd is the init system (sd_booted(3)). */
export const SYSTEMD_MARKER = "/run/systemd/system";

/** Whether systemd manages this host. */
export async function systemdBooted(
  lstat: (path: string) => Promise<Deno.FileInfo> = Deno.lstat,
): Promise<boolean> {
  try {
    return (await lstat(SYSTEMD_MARKER)).isDirectory;
  } catch {
    return false;
  }
}

/** The first file descriptor systemd passes (sd_listen_fds(3)). */
export const LISTEN_FDS_START = 3;

/**
 * The socket systemd passed this process, when it was started by a socket
 * unit (`LISTEN_FDS` set for this very process), else `undefined`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { passedSocket } from "./systemd.ts";
 * assert.equal(passedSocket({ LISTEN_FDS: "1", LISTEN_PID: "42" }, 42), 3);
 * assert.equal(passedSocket({ LISTEN_FDS: "1", LISTEN_PID: "41" }, 42), undefined);
 * assert.equal(passedSocket({}, 42), undefined);
 * ```
 */
export function passedSocket(
  env: Record<string, string | undefined>,
  pid: number,
): number | undefined {
  if (env.LISTEN_PID !== String(pid)) return undefined;
  return Number(env.LISTEN_FDS) >= 1 ? LISTEN_FDS_START : undefined;
}
