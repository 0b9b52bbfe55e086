/**
 * When this machine booted (I/O: the uptime).
 *
 * The boot time comes from the uptime (`sysinfo`, `--allow-sys`): the
 * permission set denies every /proc read, so the kernel's boot id is out of
 * reach. Two readings of it within a minute are the same boot (clock steps
 * aside).
 *
 * @module
 */

/** Two readings of the boot time this far apart are the same boot (clock steps aside). */
export const SAME_BOOT_S = 60;

/** When this machine booted (seconds since the epoch), or `undefined` where it cannot be read. */
export function bootTime(now = Date.now(), uptime = () => Deno.osUptime()): number | undefined {
  try {
    return Math.round(now / 1000 - uptime());
  } catch {
    return undefined;
  }
}

/** Whether two boot times are the same boot. */
export function sameBoot(a: number, b: number): boolean {
  return Math.abs(a - b) <= SAME_BOOT_S;
}
