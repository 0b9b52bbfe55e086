/**
 * The spool's figures in the node_exporter textfile format, written
 * atomically so the collector never reads half a file.
 *
 * @module
 */

import { replaceFile } from "../util/files.ts";
import type { SpoolStatus } from "./stats.ts";

/**
 * The metrics text for a status.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { metricsText } from "./metrics.ts";
 * const text = metricsText({ spooled: 2, oldestAgeSeconds: 30, failed: 0, sentTotal: 7, senderAlive: false });
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
  ];
  return metrics.map(([name, type, help, value]) =>
    `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name} ${value}\n`
  ).join("");
}

/** Writes the metrics file atomically (a temporary file beside it, then a rename). */
export async function writeMetrics(path: string, status: SpoolStatus): Promise<void> {
  await replaceFile(path, metricsText(status), { mode: 0o644 });
}
