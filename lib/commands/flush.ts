/**
 * `tattle flush`: sends what is spooled, once, and says what is left and
 * whether the spool needs someone.
 *
 * @module
 */

import { cleanStaleSessions, processLiveness } from "../capture/sessions.ts";
import { command } from "../cli/command.ts";
import type { Config } from "../config/config.ts";
import { senderLock } from "../config/paths.ts";
import { backgroundFlushContextFor } from "../delivery/context.ts";
import { flushSpool } from "../delivery/flush.ts";
import { lockWithin } from "../delivery/lock.ts";
import { asSpoolOwner, prepareToSend } from "../delivery/owner.ts";
import { handOver } from "../delivery/spawn.ts";
import { requeueFailed } from "../delivery/spool.ts";
import { spoolStatus, verdict } from "../delivery/stats.ts";
import { wakeSender } from "../delivery/wake.ts";
import { deadlineIn } from "../util/deadline.ts";
import { EXIT, type ExitCode, messageOf } from "../util/errors.ts";
import { exitFor } from "./status.ts";

/** The least time a flush gets, whatever the hook's timeout. */
export const FLUSH_BUDGET_S = 30;

/** `tattle flush`. */
export const flush = command({
  name: "flush",
  summary: "send the spooled events, oldest first",
  usage: "flush [--requeue-failed] [OPTIONS]",
  description:
    "Sends the spooled events, oldest first, up to 10 per PutEvents call, within max(timeout, " +
    `${FLUSH_BUDGET_S}) seconds, and prints "tattle flush: sent N, kept M, failed K" (kept: what ` +
    "is still spooled when it ends). If a sender holds the spool, it says so and leaves the " +
    "sending to it. --requeue-failed first moves failed/ back into the spool, once what made " +
    "EventBridge reject those events is fixed. Run as root on the spool of the sender's account, " +
    "it runs again as that account. As root, also removes the session records of sshd " +
    "processes that are gone.",
  options: {
    "requeue-failed": { kind: "boolean", help: "move failed/ back into the spool first" },
  },
  settings: true,
  exitCodes: "0 the spool is empty; 65 failed/ holds events; 69 the oldest spooled event is " +
    "older than alert_after (the spool is stuck); 75 events are kept for a later run " +
    "(EventBridge unreachable, out of time, or a sender is sending); 78 configuration.",
  async run(ctx) {
    const config = await ctx.config();
    const delegated = await asSpoolOwner(config, ctx.configPath, ctx.argv);
    if (delegated !== undefined) return delegated;
    const dir = config.spool_dir;
    await prepareToSend(config, "flush");
    if (Deno.uid() === 0) {
      const stale = await cleanStaleSessions(config.runtime_dir, await processLiveness());
      for (const problem of stale.problems) ctx.log(`stale session record not removed: ${problem}`);
    }

    const lock = await lockWithin(senderLock(config), config.timeout * 1000);
    if (!lock) {
      const now = await spoolStatus(dir, senderLock(config), config.state_dir);
      ctx.print(`tattle flush: sent 0, kept ${now.spooled}, failed 0 (a sender is sending)`);
      return judge(ctx, config, now.spooled > 0 ? EXIT.TEMPFAIL : EXIT.OK);
    }
    let summary;
    try {
      if (ctx.values["requeue-failed"]) {
        ctx.print(`tattle flush: moved ${await requeueFailed(dir)} event(s) back from failed/`);
      }
      const deadline = deadlineIn(Math.max(config.timeout, FLUSH_BUDGET_S) * 1000);
      summary = await flushSpool(backgroundFlushContextFor(config, deadline, ctx.log));
    } finally {
      lock.release();
    }
    const wake = () => wakeSender(config, ctx.configPath, ctx.settingsArgs);
    await handOver(dir, summary.seen, wake).catch((error) =>
      ctx.log(`warning: no sender for the events spooled meanwhile: ${messageOf(error)}`)
    );
    if (summary.remaining > 0) {
      ctx.log(`${summary.remaining} event(s) kept in ${dir}: ${summary.problem}`);
    }
    ctx.print(
      `tattle flush: sent ${summary.sent}, kept ${summary.remaining}, failed ${summary.failed}`,
    );
    return judge(ctx, config, summary.remaining > 0 ? EXIT.TEMPFAIL : EXIT.OK);
  },
});

/** A stuck spool or failures outrank what this run did: a unit running flush must fail. */
async function judge(
  ctx: { log(line: string): void },
  config: Config,
  ran: ExitCode,
): Promise<ExitCode> {
  const now = await spoolStatus(config.spool_dir, senderLock(config), config.state_dir);
  const { stuck, failed } = verdict(now, config.alert_after);
  if (stuck) {
    ctx.log(
      `the spool is stuck: ${now.spooled} event(s), the oldest ${now.oldestAgeSeconds} s old ` +
        `(alert_after ${config.alert_after} s); last error: ${now.lastError?.message ?? "none"}`,
    );
  }
  if (failed) {
    ctx.log(`${now.failed} event(s) in ${config.spool_dir}/failed/: see their .reason files`);
  }
  return stuck || failed ? exitFor(stuck, failed) : ran;
}
