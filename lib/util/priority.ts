/**
 * Lowering this process's CPU priority (I/O: setpriority(2)).
 *
 * @module
 */

import { messageOf } from "./errors.ts";

/**
 * The sender's nice value. When a burst of logins meets a starting sender
 * on a busy host, the hooks (which hold logins) get the CPU first; delivery
 * still goes on, only later under load.
 */
export const SENDER_NICE = 10;

/**
 * Lowers this process's priority to `nice`, never raising it: a process
 * started at a higher nice value keeps it. Needs
 * `--allow-sys=getPriority,setPriority`.
 *
 * @returns why it could not, or `undefined` when the process runs at `nice` or lower.
 */
export async function lowerPriority(nice: number): Promise<string | undefined> {
  const { getPriority, setPriority } = await import("node:os");
  try {
    if (getPriority() < nice) setPriority(nice);
    return undefined;
  } catch (error) {
    return messageOf(error);
  }
}
