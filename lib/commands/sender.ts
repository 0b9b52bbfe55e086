/**
 * `tattle sender`: the one process per spool that sends, started by a hook
 * when none runs, or resident under systemd.
 *
 * @module
 */

import { cleanStaleSessions, processLiveness } from "../capture/sessions.ts";
import { command } from "../cli/command.ts";
import { assertTrusted } from "../config/trust.ts";
import { backgroundFlushContextFor } from "../delivery/context.ts";
import { flushSpool } from "../delivery/flush.ts";
import { runSender } from "../delivery/sender.ts";
import { prepareSpool } from "../delivery/spool.ts";
import { EXIT, usageError } from "../util/errors.ts";
import { FLUSH_BUDGET_S } from "./flush.ts";

/** Seconds a sender started by a hook stays once the spool is empty. */
export const DEFAULT_LINGER_S = 3;

/** `tattle sender`. */
export const sender = command({
  name: "sender",
  summary: "send spooled events as they arrive (hooks start it; --resident for systemd)",
  usage: "sender [--linger SECONDS | --resident] [OPTIONS]",
  description:
    "Holds the spool for as long as it runs, so that at most one process sends from it, and " +
    "sends what arrives, up to 10 events per PutEvents call over one client. Once the spool is " +
    `empty it waits --linger seconds (default ${DEFAULT_LINGER_S}) for more, then leaves; with ` +
    "--resident it never leaves (contrib/systemd/tattle-sender.service). When delivery fails it " +
    `retries with jittered backoff for max(timeout, ${FLUSH_BUDGET_S}) seconds (forever when ` +
    "resident). If another sender holds the spool it leaves at once.",
  options: {
    linger: { kind: "string", value: "SECONDS", help: "how long to wait for more once idle" },
    resident: { kind: "boolean", help: "never leave (a systemd service)" },
  },
  settings: true,
  exitCodes: "0 the spool is empty, or another sender holds it; 75 events are kept for later; " +
    "78 configuration.",
  async run(ctx) {
    const config = await ctx.config();
    const resident = ctx.values.resident ?? false;
    const linger = ctx.values.linger === undefined ? DEFAULT_LINGER_S : Number(ctx.values.linger);
    if (!Number.isFinite(linger) || linger < 0) {
      throw usageError("--linger must be a number of seconds");
    }
    if (resident && ctx.values.linger !== undefined) {
      throw usageError("--linger and --resident do not go together");
    }
    const dir = config.spool_dir;
    await prepareSpool(dir);
    await assertTrusted(dir, "spool directory");
    const budgetMs = Math.max(config.timeout, FLUSH_BUDGET_S) * 1000;
    const report = await runSender({
      dir,
      lingerMs: resident ? Infinity : linger * 1000,
      retryBudgetMs: resident ? Infinity : budgetMs,
      pass: (deadline) => flushSpool(backgroundFlushContextFor(config, deadline, ctx.log)),
      passBudgetMs: budgetMs,
      onIdle: async () => {
        const stale = await cleanStaleSessions(config.state_dir, await processLiveness());
        for (const problem of stale.problems) {
          ctx.log(`stale session record not removed: ${problem}`);
        }
      },
      log: ctx.log,
    });
    return report.remaining > 0 ? EXIT.TEMPFAIL : EXIT.OK;
  },
});
