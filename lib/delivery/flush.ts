/**
 * One pass over the spool: oldest first, in batches the sink takes, deleting
 * a record only once the sink accepted its event (I/O). The caller holds the
 * spool's lock.
 *
 * A failure that may pass (network, throttling) is retried with full-jitter
 * backoff within the pass's budget, so a fleet recovering from an outage
 * does not retry in step. One that someone must act on (the IAM policy, a
 * setting the service refuses) ends the pass and keeps every record. Only an
 * event the sink rejects for good goes to `failed/`.
 *
 * @module
 */

import type { Account } from "../event/account.ts";
import type { Identity } from "../event/identity.ts";
import type { EventSettings } from "../event/build.ts";
import type { SessionEvent } from "../event/detail.ts";
import { type Deadline, sleep, stepDeadline } from "../util/deadline.ts";
import { messageOf } from "../util/errors.ts";
import { nextBatch, type Pending } from "./batch.ts";
import { writeMetrics } from "./metrics.ts";
import { type Delivery, describeFailure, type Sink } from "./sink.ts";
import { recordPass, spoolStatus } from "./stats.ts";
import {
  droppedCount,
  enforceLimit,
  FAILED_DIR,
  removeStaleTemporaries,
  setDropped,
  spoolList,
  spoolQuarantine,
  spoolRead,
  spoolRemove,
} from "./spool.ts";

/** What a pass needs from the outside world. */
export interface FlushContext {
  dir: string;
  /** The sender lock's path (held by the caller), for the spool's figures. */
  lock: string;
  /** The sender's state directory, for the spool's figures (reconciliation's journal). */
  stateDir: string;
  settings: EventSettings & { spool_max_events: number; region?: string };
  /** The sink, made once per pass on first use (so nothing loads when the spool is empty). */
  sink: (region: string) => Promise<Sink>;
  /** The host identity, for records captured before it was known. */
  identity: (deadline: Deadline) => Promise<Identity>;
  /**
   * The user's uid and groups, for records the hook did not resolve;
   * `undefined` leaves them out (an unknown user, or a name service that
   * failed, which the context reports itself). A pass asks once per user.
   */
  account: (user: string) => Promise<Account | undefined>;
  /** Reports one event of note (drops, quarantines, failures). */
  log: (line: string) => void;
  version: string;
  /** The pass's whole budget. */
  deadline: Deadline;
  /** The bound of one network step (the config's timeout). */
  stepMs: number;
  /** Jitter source, injected by tests. */
  random?: () => number;
  /** Where to write the spool's figures after the pass (node_exporter textfile). */
  metricsFile?: string;
  /**
   * Reconciliation (lib/reconcile/), run before anything is read: the sender and
   * `tattle flush` have it, a hook does not.
   */
  reconcile?: () => Promise<unknown>;
}

/** What a pass did. */
export interface FlushSummary {
  sent: number;
  failed: number;
  dropped: number;
  /** Records still spooled when the pass ended (counted then). */
  remaining: number;
  /** File names delivered. */
  delivered: string[];
  /** Names moved to `failed/`, with the reason. */
  quarantined: Map<string, string>;
  /** Why records remain, when some do: the last failure, phrased for an operator. */
  problem?: string;
  /** Whether that failure needs someone to act (it will not pass by itself). */
  held: boolean;
  /** Every record the pass listed: what it attempted. */
  seen: Set<string>;
}

/** Options of a pass. */
export interface FlushOptions {
  /** A record to send before the backlog (an inline hook's own event). */
  first?: string;
}

const BASE_BACKOFF_MS = 100;
/** Users looked up before the sink exists: a first batch's worth (PutEvents takes 10). */
const PREFETCH_ACCOUNTS = 10;
const MAX_BACKOFF_MS = 5_000;

/** Sends what is spooled in `ctx.dir`; the caller holds the spool's lock. */
export async function flushSpool(
  ctx: FlushContext,
  options: FlushOptions = {},
): Promise<FlushSummary> {
  const summary: FlushSummary = {
    sent: 0,
    failed: 0,
    dropped: 0,
    remaining: 0,
    delivered: [],
    quarantined: new Map(),
    held: false,
    seen: new Set(),
  };
  let sink: Sink | undefined;
  const passCtx = { ...ctx, account: oncePerUser(ctx.account) };
  try {
    await ctx.reconcile?.().catch((error) =>
      ctx.log(`warning: reconciliation did not run: ${messageOf(error)}`)
    );
    await removeStaleTemporaries(ctx.dir);
    const dropped = await enforceLimit(ctx.dir, ctx.settings.spool_max_events);
    for (const name of dropped) ctx.log(`spool full: dropped the oldest event ${name}`);
    summary.dropped = dropped.length;
    let pending = await readAll(ctx, options, summary);
    let identity: Identity | undefined;
    for (let attempt = 0; pending.length > 0 && ctx.deadline.remaining() > 0;) {
      if (!identity && pending.some((p) => !p.record.identity)) {
        try {
          identity = await ctx.identity(stepDeadline(ctx.stepMs, ctx.deadline));
        } catch (error) {
          summary.problem = messageOf(error);
          // Records that carry their identity can still go.
          pending = pending.filter((p) => p.record.identity);
          if (pending.length === 0) break;
        }
      }
      // From here every pending record has an identity, its own or the host's.
      const identityOf = (p: Pending) => p.record.identity ?? identity;
      const region = ctx.settings.region ?? identityOf(pending[0])?.region;
      if (region === undefined) break;
      if (!sink) {
        // The name service first: its processes answer while the sink loads the AWS SDK.
        // A failure here is the same promise nextBatch awaits, and is handled there.
        for (const p of pending.slice(0, PREFETCH_ACCOUNTS)) {
          if (!p.record.account) passCtx.account(p.record.session.user).catch(() => {});
        }
        sink = await ctx.sink(region);
      }
      const batch = await nextBatch(
        sink,
        pending,
        identityOf,
        passCtx,
        await droppedCount(ctx.dir),
      );
      const step = stepDeadline(ctx.stepMs, ctx.deadline);
      const deliveries = await sink.send(batch.map((b) => b.event), step.signal);
      const retry = await settle(ctx, sink, batch, deliveries, options, summary);
      pending = [...retry, ...pending.slice(batch.length)];
      if (summary.held) break;
      if (retry.length === 0) {
        attempt = 0;
        continue;
      }
      // Full jitter: hosts that failed together do not retry together.
      const cap = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** attempt++);
      const backoff = (ctx.random ?? Math.random)() * cap;
      if (backoff >= ctx.deadline.remaining()) break;
      await sleep(backoff, ctx.deadline.signal);
    }
  } catch (error) {
    summary.problem = messageOf(error);
    summary.held = true;
  } finally {
    sink?.close();
  }
  summary.remaining = (await spoolList(ctx.dir).catch(() => [])).length;
  if (summary.remaining > 0) summary.problem ??= "not sent before the time ran out";
  await keepFigures(ctx, summary);
  return summary;
}

/** `lookUp`, asked at most once per user: the rest share the first answer. */
function oncePerUser<T>(lookUp: (user: string) => Promise<T>): (user: string) => Promise<T> {
  const known = new Map<string, Promise<T>>();
  return (user) => {
    let answer = known.get(user);
    if (!answer) known.set(user, answer = lookUp(user));
    return answer;
  };
}

/** The stats and the metrics file; neither stops delivery, and a failure of either is said. */
async function keepFigures(ctx: FlushContext, summary: FlushSummary): Promise<void> {
  try {
    if (summary.sent > 0 || summary.remaining > 0) await recordPass(ctx.dir, summary);
    if (ctx.metricsFile) {
      await writeMetrics(ctx.metricsFile, await spoolStatus(ctx.dir, ctx.lock, ctx.stateDir));
    }
  } catch (error) {
    ctx.log(`warning: the spool's figures were not written: ${messageOf(error)}`);
  }
}

/** Reads the spooled records, oldest first (the `first` one before all); unreadable ones go to `failed/`. */
async function readAll(
  ctx: FlushContext,
  options: FlushOptions,
  summary: FlushSummary,
): Promise<Pending[]> {
  let names = await spoolList(ctx.dir);
  if (options.first && names.includes(options.first)) {
    names = [options.first, ...names.filter((n) => n !== options.first)];
  }
  const records: Pending[] = [];
  for (const name of names) {
    summary.seen.add(name);
    try {
      records.push({ name, record: await spoolRead(ctx.dir, name) });
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue; // sent meanwhile
      await quarantine(ctx, name, `unreadable: ${messageOf(error)}`, summary, true);
    }
  }
  return records;
}

/** Applies what the sink said about a batch; returns the records to retry. */
async function settle(
  ctx: FlushContext,
  sink: Sink,
  batch: Array<Pending & { event: SessionEvent }>,
  deliveries: Delivery[],
  options: FlushOptions,
  summary: FlushSummary,
): Promise<Pending[]> {
  const delivered: string[] = [];
  const retry: Pending[] = [];
  for (const [i, delivery] of deliveries.entries()) {
    const { name, record } = batch[i];
    if (delivery.ok) {
      delivered.push(name);
    } else if (delivery.disposition === "reject") {
      const reason = `rejected by ${sink.name}: ${delivery.code}: ${delivery.message}`;
      // An inline hook reports its own event in its error line.
      await quarantine(ctx, name, reason, summary, name !== options.first);
    } else {
      summary.problem = describeFailure(sink, delivery, ctx.stepMs / 1000);
      if (delivery.disposition === "hold") summary.held = true;
      else retry.push({ name, record });
    }
  }
  await spoolRemove(ctx.dir, delivered);
  summary.sent += delivered.length;
  summary.delivered.push(...delivered);
  const carried = batch[0]?.event.detail.spool_dropped;
  if (carried && deliveries[0]?.ok) {
    await setDropped(ctx.dir, (await droppedCount(ctx.dir)) - carried);
  }
  return retry;
}

/** Moves a record to `failed/`; one that cannot be moved stays spooled, and that is said. */
async function quarantine(
  ctx: FlushContext,
  name: string,
  reason: string,
  summary: FlushSummary,
  log: boolean,
): Promise<void> {
  try {
    await spoolQuarantine(ctx.dir, name, reason);
  } catch (error) {
    ctx.log(`could not move ${name} to ${ctx.dir}/${FAILED_DIR}/ (${messageOf(error)}): ${reason}`);
    return;
  }
  summary.failed++;
  summary.quarantined.set(name, reason);
  if (log) ctx.log(`moved ${name} to ${ctx.dir}/${FAILED_DIR}/: ${reason}`);
}
