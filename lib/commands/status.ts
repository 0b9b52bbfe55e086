/**
 * `tattle status`: how the spool is doing, for people and for monitoring.
 *
 * @module
 */

import { command } from "../cli/command.ts";
import { senderLock } from "../config/paths.ts";
import { writeMetrics } from "../delivery/metrics.ts";
import { asSpoolOwner } from "../delivery/owner.ts";
import { type SpoolStatus, spoolStatus, verdict } from "../delivery/stats.ts";
import { EXIT, type ExitCode, messageOf } from "../util/errors.ts";

/** `tattle status`. */
export const status = command({
  name: "status",
  summary: "show the spool: waiting events, their age, failures, the last delivery",
  usage: "status [--json] [OPTIONS]",
  description:
    "Shows the events waiting in the spool and the age of the oldest, the events in failed/, " +
    "when an event was last delivered, the last error, and whether a sender is running. Exits " +
    "non-zero when the oldest event waits longer than alert_after or failed/ holds events, so a " +
    "monitor can page on it; and how many sessions reconciliation found in the last day that " +
    "no hook reported, and closes that never ran (not zero: look why). Also writes " +
    "metrics_file when the config names one. Run as root " +
    "on the spool of the sender's account, it runs again as that account.",
  options: { json: { kind: "boolean", help: "print one JSON object instead of lines" } },
  settings: true,
  exitCodes: "0 healthy; 65 failed/ holds events (tattle flush --requeue-failed once the cause " +
    "is fixed); 69 the oldest spooled event is older than alert_after (the spool is stuck); " +
    "78 configuration.",
  async run(ctx) {
    const config = await ctx.config();
    const delegated = await asSpoolOwner(config, ctx.configPath, ctx.argv);
    if (delegated !== undefined) return delegated;
    const current = await spoolStatus(config.spool_dir, senderLock(config), config.state_dir);
    if (config.metrics_file) {
      await writeMetrics(config.metrics_file, current).catch((error) =>
        ctx.log(`warning: metrics file ${config.metrics_file} not written: ${messageOf(error)}`)
      );
    }
    const { stuck, failed } = verdict(current, config.alert_after);
    ctx.print(
      ctx.values.json
        ? JSON.stringify({ ...current, alertAfterSeconds: config.alert_after, stuck })
        : describe(current, config.spool_dir, config.alert_after, stuck),
    );
    return exitFor(stuck, failed);
  },
});

/** The exit for a spool's verdict: stuck first, then failures. */
export function exitFor(stuck: boolean, failed: boolean): ExitCode {
  if (stuck) return EXIT.UNAVAILABLE;
  return failed ? EXIT.DATAERR : EXIT.OK;
}

function describe(s: SpoolStatus, dir: string, alertAfter: number, stuck: boolean): string {
  const age = s.oldestAgeSeconds === undefined ? "" : `, the oldest ${s.oldestAgeSeconds} s old`;
  return [
    `spool ${dir}: ${s.spooled} event(s) waiting${age}${
      stuck ? ` (STUCK: over ${alertAfter} s)` : ""
    }`,
    `failed/: ${s.failed} event(s)${s.failed > 0 ? " (see the .reason files)" : ""}`,
    `delivered: ${s.sentTotal} in all, the last at ${s.lastSuccess ?? "never"}`,
    `last error: ${s.lastError ? `${s.lastError.time}: ${s.lastError.message}` : "none"}`,
    `sender: ${s.senderAlive ? "running" : "not running"}`,
    `reconciliation, last 24 h: ${s.reconciled.found} session(s) no hook reported, ` +
    `${s.reconciled.lost} close(s) that never ran${
      s.reconciled.found + s.reconciled.lost > 0
        ? " (LOOK: a hook that could not run, or an sshd killed: see syslog, tag tattle)"
        : ""
    }`,
  ].join("\n");
}
