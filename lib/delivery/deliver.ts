/**
 * Getting a captured event delivered: spooled first, then sent by a
 * detached sender (background) or before the hook exits (inline).
 *
 * The spool write is local and has its own bound, separate from the
 * network's: an event once captured ends up spooled, sent, or reported lost
 * with the reason.
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
import { ensureSender, handOver, senderCommand, startSender } from "./spawn.ts";
import { FAILED_DIR, prepareSpool, recordName, spoolWrite, tryLockSpool } from "./spool.ts";

/** What delivery needs besides the event. */
export interface DeliverContext {
  config: Config;
  configPath: string;
  /** The options the detached sender gets (`--config` and settings flags). */
  senderOptions: string[];
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
 * @returns 0 when the event was delivered (inline) or queued with a sender started (background).
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

  const start = () => startSender(senderCommand(ctx.senderOptions, ctx.config, ctx.configPath));
  if (ctx.mode === "background") {
    try {
      await ensureSender(dir, start);
      return EXIT.OK;
    } catch (error) {
      throw new TattleError(
        EXIT.TEMPFAIL,
        `event spooled at ${path}, but the sender could not start (${messageOf(error)}); ` +
          "`tattle flush` (the systemd timer) will send it",
      );
    }
  }

  // Inline: send it ourselves, or see the process that holds the spool send it.
  for (;;) {
    const lock = await tryLockSpool(dir);
    if (lock) {
      let summary: FlushSummary;
      try {
        const { flushSpool } = await import("./flush.ts");
        summary = await flushSpool(await ctx.flush(deadline), { first: name });
      } finally {
        lock.release();
      }
      await handOver(dir, summary.seen, start).catch((error) =>
        ctx.log(`warning: no sender for the events spooled meanwhile: ${messageOf(error)}`)
      );
      return inlineOutcome(summary, name, path);
    }
    if (!(await exists(path)) || deadline.remaining() === 0) {
      return await outcomeOfOthers(dir, name, path);
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

/** Another process held the spool: what it did with our record decides the outcome. */
async function outcomeOfOthers(dir: string, name: string, path: string): Promise<ExitCode> {
  if (!(await exists(path))) {
    if (await exists(`${dir}/${FAILED_DIR}/${name}`)) {
      throw unavailableError(
        `event moved to ${dir}/${FAILED_DIR}/${name} by another tattle process`,
      );
    }
    return EXIT.OK; // delivered by the process that held the spool
  }
  throw new TattleError(
    EXIT.TEMPFAIL,
    `event spooled at ${path} for later delivery: another tattle process was sending from the spool`,
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
