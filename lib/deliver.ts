/**
 * Getting a captured event to EventBridge: spooled first, then sent by a
 * detached sender (background) or before the hook exits (inline).
 *
 * @module
 */

import type { Config } from "./config.ts";
import type { Deadline } from "./deadline.ts";
import { EXIT, type ExitCode, messageOf, TattleError, unavailableError } from "./errors.ts";
import { flushSpool, type FlushSummary } from "./flush.ts";
import { resolveIdentity } from "./identity.ts";
import { type CapturedEvent, entryFor } from "./record.ts";
import { sendEntry } from "./send.ts";
import { senderCommand, startSender } from "./sender.ts";
import { prepareSpool, spoolWrite } from "./spool.ts";
import { assertTrusted } from "./trust.ts";
import { VERSION } from "./version.ts";

/** What delivery needs besides the event. */
export interface DeliverContext {
  config: Config;
  configPath: string;
  /** The hook's options, passed on to the detached sender. */
  options: string[];
  deadline: Deadline;
  /** "background" or "inline", after the by-hand override. */
  mode: Config["mode"];
  log: (line: string) => void;
}

/**
 * Delivers the event as the mode says.
 *
 * @returns 0 when the event was delivered (inline) or queued with a sender started (background).
 * @throws {TattleError} 75 when the event is spooled for later; 69 when it could not be spooled
 * nor sent, or EventBridge rejected it for good.
 */
export async function deliver(record: CapturedEvent, ctx: DeliverContext): Promise<ExitCode> {
  const dir = ctx.config.spool_dir;
  let name: string;
  try {
    await prepareSpool(dir);
    await assertTrusted(dir, "spool directory");
    name = await spoolWrite(dir, record);
  } catch (error) {
    if (error instanceof TattleError) throw error; // untrusted: refuse, as configured
    return await sendUnspooled(record, ctx, `spool ${dir} is not usable: ${messageOf(error)}`);
  }
  const path = `${dir}/${name}`;

  if (ctx.mode === "background") {
    try {
      startSender(senderCommand(ctx.options, ctx.config, ctx.configPath));
      return EXIT.OK;
    } catch (error) {
      throw new TattleError(
        EXIT.TEMPFAIL,
        `event spooled at ${path}, but the sender could not start (${messageOf(error)}); ` +
          "`tattle flush` (the systemd timer) will send it",
      );
    }
  }

  const summary = await flushSpool(dir, ctx.config, ctx.deadline, flushDeps(ctx), { first: name });
  return inlineOutcome(summary, name, path);
}

/** The exit for an inline delivery, from what the flush did with the hook's own record. */
function inlineOutcome(summary: FlushSummary, name: string, path: string): ExitCode {
  if (summary.delivered.includes(name)) return EXIT.OK;
  const rejected = summary.quarantined.get(name);
  if (rejected) {
    throw unavailableError(`event moved to ${path.replace(name, `failed/${name}`)}: ${rejected}`);
  }
  throw new TattleError(
    EXIT.TEMPFAIL,
    `event spooled at ${path} for later delivery: ${
      summary.lastError ?? "not sent before the timeout"
    }`,
  );
}

/** The spool is unusable: send directly, so the login is still reported. */
async function sendUnspooled(
  record: CapturedEvent,
  ctx: DeliverContext,
  spoolProblem: string,
): Promise<ExitCode> {
  try {
    const identity = record.identity ?? await resolveIdentity(ctx.config, ctx.deadline);
    const entry = await entryFor(record, identity, ctx.config, VERSION);
    await sendEntry(entry, ctx.config, identity, ctx.deadline);
  } catch (error) {
    throw unavailableError(`event lost: ${spoolProblem}, and sending failed: ${messageOf(error)}`);
  }
  ctx.log(`warning: ${spoolProblem}; the event was sent directly`);
  return EXIT.OK;
}

/** The real publisher and identity for a flush. */
export function flushDeps(ctx: Pick<DeliverContext, "config" | "log">) {
  return {
    publish: async (...args: Parameters<typeof import("./eventbridge.ts").publish>) => {
      const { publish } = await import("./eventbridge.ts");
      return publish(...args);
    },
    identity: (deadline: Deadline) => resolveIdentity(ctx.config, deadline),
    log: ctx.log,
    version: VERSION,
  };
}
