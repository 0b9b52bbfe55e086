/**
 * Which boot this is, followed from pass to pass (pure).
 *
 * The kernel's boot id is out of reach (the permission set denies every
 * /proc read), and the wall clock minus the uptime moves with every step of
 * the clock: after a 10-minute step it would name another boot, and every
 * open session would be closed `reboot`. So the journal keeps the boot it
 * last saw, and a pass takes the boot for a new one only when the uptime
 * went back (it never does within a boot, whatever the wall clock does) or
 * utmp's boot record changed (init writes it once per boot).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { followBoot } from "./boot.ts";
 *
 * const first = followBoot(undefined, { estimate: 1_000_000, uptime: 600 });
 * // The clock stepped 10 minutes forward: the same boot.
 * const stepped = followBoot(first, { estimate: 1_000_600, uptime: 660 });
 * assert.equal(stepped.id, first.id);
 * // The uptime went back: a new boot.
 * const next = followBoot(stepped, { estimate: 1_090_000, uptime: 40 });
 * assert.notEqual(next.id, first.id);
 * ```
 *
 * @module
 */

import { type Infer, number, object, optional } from "../util/shape.ts";

/** The boot the journal last saw. */
export const BOOT = object({
  /** The boot's start as first estimated (seconds since the epoch): its name from then on. */
  id: number(),
  /** The uptime at the last pass, in seconds. */
  uptime: number({ min: 0 }),
  /** utmp's boot record (seconds since the epoch), where it has one. */
  utmp: optional(number()),
});

/** The boot the journal last saw. */
export type Boot = Infer<typeof BOOT>;

/** What a pass reads of the boot it runs in. */
export interface BootReading {
  /** Now minus the uptime, in seconds since the epoch: moves with the wall clock. */
  estimate: number;
  /** Seconds since the boot (`CLOCK_BOOTTIME`): never goes back within a boot. */
  uptime: number;
  /** utmp's boot record, where it has one. */
  utmp?: number;
}

/** The boot a pass runs in, given the one the journal last saw. */
export function followBoot(last: Boot | undefined, reading: BootReading): Boot {
  const utmpChanged = reading.utmp !== undefined && last?.utmp !== undefined &&
    reading.utmp !== last.utmp;
  if (last === undefined || reading.uptime < last.uptime || utmpChanged) {
    return {
      id: reading.estimate,
      uptime: reading.uptime,
      ...(reading.utmp === undefined ? {} : { utmp: reading.utmp }),
    };
  }
  const utmp = reading.utmp ?? last.utmp;
  return { id: last.id, uptime: reading.uptime, ...(utmp === undefined ? {} : { utmp }) };
}
