/**
 * Getting a captured event delivered: spooled first, then the sender is
 * woken (background), or the hook waits for the delivery (inline).
 *
 * The spool write is local and has its own bound, separate from the
 * network's: an event once captured ends up spooled, sent, or reported lost
 * with the reason.
 *
 * An inline hook sends the spool itself only when the spool is its own
 * (root's, where no sender account exists). A spool that belongs to the
 * sender's account is that account's to send from: root never opens what
 * another account can replace, so the hook wakes the sender and watches
 * its event go.
 *
 * @module
 */

import type { Config } from "../config/config.ts";
import { assertTrusted } from "../config/trust.ts";
import {
  type Deadline,
  deadlineIn,
  LOCAL_STEP_BOUND_MS,
  sleep,
  withinBound,
} from "../util/deadline.ts";
import { EXIT, type ExitCode, messageOf, TattleError, unavailableError } from "../util/errors.ts";
import type { FlushContext, FlushSummary } from "./flush.ts";
import type { CapturedEvent } from "./record.ts";
import { FAILED_DIR, prepareSpool, recordName, spoolWrite } from "./spool.ts";

/** What delivery needs besides the event. */
export interface DeliverContext {
  config: Config;
  /** The sender lock's path. */
  lock: string;
  /** Wakes the sender (lib/delivery/wake.ts); throws saying why none will come. */
  wake: () => Promise<unknown>;
  /** The network's budget, from the moment the event is spooled. */
  networkMs: number;
  /** "background" or "inline", after the by-hand override. */
  mode: Config["mode"];
  log: (line: string) => void;
  /** What a flush needs, for a given budget (loaded on use: a background hook never sends). */
  flush: (deadline: Deadline) => Promise<FlushContext>;
  /** Sends one event now, without the spool. */
  sendDirect: (record: CapturedEvent, deadline: Deadline) => Promise<void>;
  /**
   * Called once the local write is over (`spooled` says whether the event is
   * on disk), before any network: arms the watchdog.
   */
  onLocalWriteOver: (spooled: boolean) => void;
}

/**
 * Delivers the event as the mode says.
 *
 * @returns 0 when the event was delivered (inline) or queued with the sender woken (background).
 * @throws {TattleError} 75 when the event is spooled for later; 69 when it could not be spooled
 * nor sent, or the sink rejected it for good.
 */
export async function deliver(record: CapturedEvent, ctx: DeliverContext): Promise<ExitCode> {
  const dir = ctx.config.spool_dir;
  const giveUp = new AbortController();
  let name: string;
  try {
    // Past the bound the event is sent directly instead.
    name = await withinBound(
      spoolEvent(dir, record, giveUp.signal),
      LOCAL_STEP_BOUND_MS,
      "writing",
    );
  } catch (error) {
    giveUp.abort();
    if (error instanceof TattleError) throw error; // untrusted: refuse, as configured
    ctx.onLocalWriteOver(false);
    const deadline = deadlineIn(ctx.networkMs);
    return await sendUnspooled(
      record,
      ctx,
      deadline,
      `spool ${dir} is not usable: ${messageOf(error)}`,
    );
  }
  ctx.onLocalWriteOver(true);
  const deadline = deadlineIn(ctx.networkMs);
  const path = `${dir}/${name}`;

  const wake = async () => {
    try {
      await ctx.wake();
    } catch (error) {
      throw new TattleError(
        EXIT.TEMPFAIL,
        `event spooled at ${path}, but no sender will come: ${messageOf(error)}; ` +
          "`tattle flush` (the systemd timer) will send it",
      );
    }
  };
  if (ctx.mode === "background") {
    await wake();
    return EXIT.OK;
  }

  // Inline: send it ourselves from a spool of our own, or see the sender send it.
  const [{ tryLock }, { handOver }] = await Promise.all([
    import("./lock.ts"),
    import("./spawn.ts"),
  ]);
  const own = (await Deno.lstat(dir)).uid === Deno.uid();
  if (!own) await wake();
  for (;;) {
    const lock = own ? await tryLock(ctx.lock) : undefined;
    if (lock) {
      let summary: FlushSummary;
      try {
        const { flushSpool } = await import("./flush.ts");
        summary = await flushSpool(await ctx.flush(deadline), { first: name });
      } finally {
        lock.release();
      }
      await handOver(dir, summary.seen, wake).catch((error) =>
        ctx.log(`warning: no sender for the events spooled meanwhile: ${messageOf(error)}`)
      );
      return inlineOutcome(summary, name, path);
    }
    if (!(await exists(path)) || deadline.remaining() === 0) {
      return await outcomeOfOthers(dir, name, path, ctx.networkMs);
    }
    await sleep(Math.min(20, deadline.remaining()), deadline.signal);
  }
}

async function spoolEvent(
  dir: string,
  record: CapturedEvent,
  signal: AbortSignal,
): Promise<string> {
  await assertTrusted(dir, "spool directory");
  try {
    return await spoolWrite(dir, record, signal);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  // The first event ever, or the spool was removed: create it, then check it like any other.
  await prepareSpool(dir);
  await assertTrusted(dir, "spool directory");
  return await spoolWrite(dir, record, signal);
}

/** The exit for an inline delivery, from what the flush did with the hook's own record. */
function inlineOutcome(summary: FlushSummary, name: string, path: string): ExitCode {
  if (summary.delivered.includes(name)) return EXIT.OK;
  const rejected = summary.quarantined.get(name);
  if (rejected) {
    throw unavailableError(
      `event moved to ${path.replace(name, `${FAILED_DIR}/${name}`)}: ${rejected}`,
    );
  }
  throw new TattleError(
    EXIT.TEMPFAIL,
    `event spooled at ${path} for later delivery: ${
      summary.problem ?? "not sent before the timeout"
    }`,
  );
}

const exists = (path: string) => Deno.lstat(path).then(() => true, () => false);

/**
 * Another process sent from the spool (the sender): what it did with our
 * record decides the outcome. Seen from outside, by the names alone.
 */
async function outcomeOfOthers(
  dir: string,
  name: string,
  path: string,
  waitedMs: number,
): Promise<ExitCode> {
  if (!(await exists(path))) {
    if (await exists(`${dir}/${FAILED_DIR}/${name}`)) {
      throw unavailableError(
        `event moved to ${dir}/${FAILED_DIR}/${name} by the sender (tattle status says why)`,
      );
    }
    return EXIT.OK; // delivered by the process that held the spool
  }
  throw new TattleError(
    EXIT.TEMPFAIL,
    `event spooled at ${path} for later delivery: the sender had not delivered it after ` +
      `${waitedMs / 1000} s (tattle status says why)`,
  );
}

/** The spool is unusable: send directly, so the login is still reported. */
async function sendUnspooled(
  record: CapturedEvent,
  ctx: DeliverContext,
  deadline: Deadline,
  spoolProblem: string,
): Promise<ExitCode> {
  try {
    await ctx.sendDirect(record, deadline);
  } catch (error) {
    throw unavailableError(`event lost: ${spoolProblem}, and sending failed: ${messageOf(error)}`);
  }
  // A write given up on may have finished meanwhile: the event must not go twice.
  await Deno.remove(`${ctx.config.spool_dir}/${recordName(record)}`).catch(() => {});
  ctx.log(`warning: ${spoolProblem}; the event was sent directly`);
  return EXIT.OK;
}
