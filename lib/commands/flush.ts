/**
 * `tattle flush`: sends what is spooled, once, and says what is left.
 *
 * @module
 */

import { processLiveness } from "../capture/sessions.ts";
import { cleanStaleSessions } from "../capture/sessions.ts";
import { command } from "../cli/command.ts";
import { assertTrusted } from "../config/trust.ts";
import { flushContextFor } from "../delivery/context.ts";
import { flushSpool } from "../delivery/flush.ts";
import { lockSpoolWithin, prepareSpool, spoolList } from "../delivery/spool.ts";
import { deadlineIn } from "../util/deadline.ts";
import { EXIT } from "../util/errors.ts";

/** The least time a flush gets, whatever the hook's timeout. */
export const FLUSH_BUDGET_S = 30;

/** `tattle flush`. */
export const flush = command({
  name: "flush",
  summary: "send the spooled events, oldest first",
  usage: "flush [OPTIONS]",
  description:
    "Sends the spooled events, oldest first, up to 10 per PutEvents call, within max(timeout, " +
    `${FLUSH_BUDGET_S}) seconds, and prints "tattle flush: sent N, kept M, failed K" (kept: what ` +
    "is still spooled when it ends). Removes the session records of sshd processes that are gone.",
  options: {},
  settings: true,
  exitCodes: "0 the spool is empty; 65 some events were moved to failed/ (rejected for good or " +
    "unreadable); 69 unavailable; 75 events are kept for a later run (EventBridge unreachable, " +
    "out of time, or another tattle process is sending); 78 configuration.",
  async run(ctx) {
    const config = await ctx.config();
    const dir = config.spool_dir;
    const deadline = deadlineIn(Math.max(config.timeout, FLUSH_BUDGET_S) * 1000);
    await prepareSpool(dir);
    await assertTrusted(dir, "spool directory");
    const stale = await cleanStaleSessions(config.state_dir, await processLiveness());
    for (const problem of stale.problems) ctx.log(`stale session record not removed: ${problem}`);

    const lock = await lockSpoolWithin(dir, config.timeout * 1000);
    if (!lock) {
      const kept = (await spoolList(dir)).length;
      ctx.print(`tattle flush: sent 0, kept ${kept}, failed 0 (another tattle process is sending)`);
      return kept > 0 ? EXIT.TEMPFAIL : EXIT.OK;
    }
    let summary;
    try {
      summary = await flushSpool(flushContextFor(config, deadline, ctx.log));
    } finally {
      lock.release();
    }
    if (summary.remaining > 0) {
      ctx.log(`${summary.remaining} event(s) kept in ${dir}: ${summary.problem}`);
    }
    ctx.print(
      `tattle flush: sent ${summary.sent}, kept ${summary.remaining}, failed ${summary.failed}`,
    );
    if (summary.remaining > 0) return EXIT.TEMPFAIL;
    return summary.failed > 0 ? EXIT.DATAERR : EXIT.OK;
  },
});
