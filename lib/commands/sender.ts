/**
 * `tattle sender`: the one process per spool that sends. On a systemd host
 * it is `tattle-sender.service`, started by its socket; elsewhere a hook
 * starts it when none runs. It runs as the spool's owner.
 *
 * @module
 */

import { cleanStaleSessions, processLiveness } from "../capture/sessions.ts";
import { command } from "../cli/command.ts";
import { senderLock } from "../config/paths.ts";
import { passedSocket } from "../host/systemd.ts";
import { backgroundFlushContextFor } from "../delivery/context.ts";
import { flushSpool } from "../delivery/flush.ts";
import { runSender } from "../delivery/sender.ts";
import { keptSinks } from "../delivery/sink.ts";
import { sinkFor } from "../aws/sink.ts";
import { EXIT } from "../util/errors.ts";
import { FLUSH_BUDGET_S } from "./flush.ts";
import { prepareToSend } from "../delivery/owner.ts";

/** While the sender stays, it reconciles this often even when no login wakes it. */
export const RECONCILE_EVERY_S = 30;

/** `tattle sender`. */
export const sender = command({
  name: "sender",
  summary: "send spooled events as they arrive (tattle-sender.service, or started by hooks)",
  usage: "sender [OPTIONS]",
  description:
    "Holds the sender lock for as long as it runs, so that at most one process sends from the " +
    "spool, and sends what arrives, up to 10 events per PutEvents call over one client. Once " +
    "the spool is empty it stays sender_idle seconds for more (0: for good), then leaves. " +
    "Started by systemd (tattle-sender.socket), it takes each connection to that socket as a " +
    "sign that an event was spooled. When delivery fails it retries with jittered backoff for " +
    `max(timeout, ${FLUSH_BUDGET_S}) seconds (for good when sender_idle is 0). It runs as the ` +
    "spool's owner (User=tattle); another process holding the lock makes it wait (as a " +
    "service) or leave at once. SIGTERM makes it finish the pass under way and leave.",
  options: {},
  settings: true,
  exitCodes: "0 the spool is empty, or another sender holds it; 75 events are kept for later; " +
    "78 configuration (including a spool that belongs to another account).",
  async run(ctx) {
    const config = await ctx.config();
    await prepareToSend(config, "sender");
    const fd = passedSocket(Deno.env.toObject(), Deno.pid);
    const wakes = fd === undefined
      ? undefined
      : (await import("../delivery/activation.ts")).passedSocketWakes(fd);
    const resident = config.sender_idle === 0;
    const budgetMs = Math.max(config.timeout, FLUSH_BUDGET_S) * 1000;
    const sinks = keptSinks((region) => sinkFor(config, region));
    // systemctl stop or restart, or a package upgrade: end the pass under way, then leave.
    const stop = new AbortController();
    const onTerm = () => stop.abort();
    Deno.addSignalListener("SIGTERM", onTerm);
    const report = await runSender({
      dir: config.spool_dir,
      lock: senderLock(config),
      wakes,
      lingerMs: resident ? Infinity : config.sender_idle * 1000,
      passEveryMs: RECONCILE_EVERY_S * 1000,
      retryBudgetMs: resident ? Infinity : budgetMs,
      pass: (deadline) =>
        flushSpool(backgroundFlushContextFor(config, deadline, ctx.log, sinks.get)),
      passBudgetMs: budgetMs,
      onIdle: async () => {
        // Root's session records: only a sender running as root may clean them.
        if (Deno.uid() !== 0) return;
        const stale = await cleanStaleSessions(config.runtime_dir, await processLiveness());
        for (const problem of stale.problems) {
          ctx.log(`stale session record not removed: ${problem}`);
        }
      },
      log: ctx.log,
      stop: stop.signal,
    }).finally(() => Deno.removeSignalListener("SIGTERM", onTerm));
    await sinks.close();
    return report.remaining > 0 ? EXIT.TEMPFAIL : EXIT.OK;
  },
});
