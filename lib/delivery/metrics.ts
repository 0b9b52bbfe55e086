/**
 * The spool's figures in the node_exporter textfile format, written
 * atomically so the collector never reads half a file, into a directory
 * checked before each write (I/O).
 *
 * @module
 */

import { assertTrusted } from "../config/trust.ts";
import { replaceFile } from "../util/files.ts";
import type { SpoolStatus } from "./stats.ts";

/**
 * The metrics text for a status.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { metricsText } from "./metrics.ts";
 * const text = metricsText({
 *   spooled: 2,
 *   oldestAgeSeconds: 30,
 *   failed: 0,
 *   sentTotal: 7,
 *   senderAlive: false,
 *   reconciled: { found: 1, lost: 0 },
 * });
 * assert.match(text, /^tattle_spool_events 2$/m);
 * assert.match(text, /^tattle_events_sent_total 7$/m);
 * ```
 */
export function metricsText(status: SpoolStatus): string {
  const lastSuccess = status.lastSuccess ? Date.parse(status.lastSuccess) / 1000 : 0;
  const metrics: Array<[string, "gauge" | "counter", string, number]> = [
    ["tattle_spool_events", "gauge", "Events waiting in the spool.", status.spooled],
    [
      "tattle_oldest_event_age_seconds",
      "gauge",
      "Age of the oldest event waiting in the spool (0 when it is empty).",
      status.oldestAgeSeconds ?? 0,
    ],
    ["tattle_failed_events", "gauge", "Events in failed/, rejected for good.", status.failed],
    [
      "tattle_last_success_timestamp_seconds",
      "gauge",
      "When an event was last delivered (0: never).",
      lastSuccess,
    ],
    ["tattle_events_sent_total", "counter", "Events delivered.", status.sentTotal],
    [
      "tattle_reconciled_sessions",
      "gauge",
      "Sessions no hook reported that reconciliation found, in the last 24 h (not 0: look why).",
      status.reconciled.found,
    ],
    [
      "tattle_lost_closes",
      "gauge",
      "Closes that never ran that reconciliation reported (lost, reboot), in the last 24 h.",
      status.reconciled.lost,
    ],
  ];
  return metrics.map(([name, type, help, value]) =>
    `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name} ${value}\n`
  ).join("");
}

/**
 * Writes the metrics file atomically (a temporary file beside it, then a
 * rename), readable by node_exporter. Its directory must be reached through
 * no symlink and belong, like every directory above it that tattle may
 * look at, to root or the sender's account, writable by nobody else: a
 * directory another account can swap (Debian's `prometheus` owns
 * /var/lib/prometheus) would let it choose where the file goes.
 *
 * @throws {Error} naming the directory and what is wrong with it.
 */
export async function writeMetrics(path: string, status: SpoolStatus): Promise<void> {
  const dir = path.slice(0, path.lastIndexOf("/")) || "/";
  const real = await Deno.realPath(dir).catch((error) => {
    throw new Error(`the metrics directory ${dir} cannot be used: ${(error as Error).message}`);
  });
  if (real !== dir) {
    throw new Error(`the metrics directory ${dir} is reached through a symlink (to ${real})`);
  }
  await assertTrusted(dir, "metrics directory");
  const tmp = `${dir}/.${path.slice(dir.length + 1)}.${crypto.randomUUID()}.tmp`;
  await replaceFile(path, metricsText(status), { tmp, mode: 0o644, chmod: true });
}
