/**
 * How the spool is doing: what waits, how old, what failed, when delivery
 * last worked (I/O). `tattle status`, flush's exit code and the metrics
 * file all read {@link spoolStatus}.
 *
 * Only a process holding the spool's lock writes the stats file.
 *
 * @module
 */

import { type Infer, integer, object, optional, string } from "../util/shape.ts";
import { replaceFile } from "../util/files.ts";
import { reconciledLastDay } from "../reconcile/journal.ts";
import { lockHeld } from "./lock.ts";
import { FAILED_DIR, recordNameTime, spoolList, spoolTempPath } from "./spool.ts";

const STATS_FILE = ".stats.json";

/** What the spool remembers across runs. */
export const STATS = object({
  sent_total: integer({ min: 0 }),
  /** ISO 8601: when an event was last delivered. */
  last_success: optional(string()),
  last_error: optional(object({ time: string(), message: string() })),
});

/** What the spool remembers across runs. */
export type Stats = Infer<typeof STATS>;

/** The spool's stats; zero when there are none yet (or they are damaged). */
export async function readStats(dir: string): Promise<Stats> {
  try {
    return STATS.parse(JSON.parse(await Deno.readTextFile(`${dir}/${STATS_FILE}`)));
  } catch {
    return { sent_total: 0 };
  }
}

/** Adds a pass's outcome to the stats (atomically). The caller holds the spool's lock. */
export async function recordPass(
  dir: string,
  pass: { sent: number; remaining: number; problem?: string },
  now = new Date(),
): Promise<void> {
  const stats = await readStats(dir);
  const next: Stats = { ...stats, sent_total: stats.sent_total + pass.sent };
  if (pass.sent > 0) next.last_success = now.toISOString();
  if (pass.remaining > 0 && pass.problem) {
    next.last_error = { time: now.toISOString(), message: pass.problem };
  }
  await replaceFile(`${dir}/${STATS_FILE}`, JSON.stringify(next), {
    tmp: spoolTempPath(dir, "stats-"),
  });
}

/** The spool at a glance. */
export interface SpoolStatus {
  /** Events waiting. */
  spooled: number;
  /** Seconds since the oldest waiting event happened. */
  oldestAgeSeconds?: number;
  /** Events in `failed/`. */
  failed: number;
  sentTotal: number;
  lastSuccess?: string;
  lastError?: { time: string; message: string };
  /** Whether a sender holds the spool right now. */
  senderAlive: boolean;
  /**
   * Reconciliation in the last day: sessions found that no hook reported,
   * closes reported that never ran.
   */
  reconciled: { found: number; lost: number };
}

/**
 * The spool at a glance, at `now`; `lock` is the sender lock's path,
 * `stateDir` the sender's state (reconciliation's journal).
 */
export async function spoolStatus(
  dir: string,
  lock: string,
  stateDir: string,
  now = Date.now(),
): Promise<SpoolStatus> {
  const names = await spoolList(dir);
  const stats = await readStats(dir);
  let failed = 0;
  try {
    for await (const entry of Deno.readDir(`${dir}/${FAILED_DIR}`)) {
      if (entry.name.endsWith(".json")) failed++;
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const status: SpoolStatus = {
    spooled: names.length,
    failed,
    sentTotal: stats.sent_total,
    senderAlive: await lockHeld(lock),
    reconciled: await reconciledLastDay(stateDir, now),
  };
  const oldest = names.length > 0 ? recordNameTime(names[0]) : NaN;
  if (Number.isFinite(oldest)) {
    status.oldestAgeSeconds = Math.max(0, Math.round((now - oldest) / 1000));
  }
  if (stats.last_success) status.lastSuccess = stats.last_success;
  if (stats.last_error) status.lastError = stats.last_error;
  return status;
}

/** Whether the spool needs someone: its oldest event waits too long, or failed/ holds events. */
export function verdict(
  status: SpoolStatus,
  alertAfterSeconds: number,
): { stuck: boolean; failed: boolean } {
  return {
    stuck: (status.oldestAgeSeconds ?? 0) > alertAfterSeconds,
    failed: status.failed > 0,
  };
}
