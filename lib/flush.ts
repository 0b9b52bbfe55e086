/**
 * Sending the spool: oldest first, up to ten entries per PutEvents call,
 * deleting a record only after its entry got an EventId (I/O).
 *
 * @module
 */

import { type Config, imdsFailure } from "./config.ts";
import { credentialsFor } from "./credentials.ts";
import { type Deadline, deadlineIn, raceSignal } from "./deadline.ts";
import { entrySize, type EventEntry, type Identity, MAX_ENTRY_BYTES } from "./event.ts";
import type { EntryResult, PublishOptions } from "./eventbridge.ts";
import { messageOf } from "./errors.ts";
import { type CapturedEvent, entryFor } from "./record.ts";
import { publishFailure } from "./send.ts";
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
  withSpoolLock,
} from "./spool.ts";

/** Entry error codes that no retry can fix: the record goes to `failed/`. */
const PERMANENT_CODES = new Set([
  "MalformedDetail",
  "InvalidArgument",
  "ValidationException",
  "SerializationException",
]);

/** What a flush needs from the outside world. */
export interface FlushDeps {
  publish: (entries: EventEntry[], options: PublishOptions) => Promise<EntryResult[]>;
  /** The host identity, for records captured before it was known. */
  identity: (deadline: Deadline) => Promise<Identity>;
  /** Reports one event of note (drops, quarantines, failures). */
  log: (line: string) => void;
  version: string;
}

/** What a flush did. */
export interface FlushSummary {
  sent: number;
  kept: number;
  failed: number;
  dropped: number;
  /** The file names delivered. */
  delivered: string[];
  /** Names moved to `failed/`, with the reason. */
  quarantined: Map<string, string>;
  /** Why records were kept, when some were. */
  lastError?: string;
}

/** Flush options. */
export interface FlushOptions {
  /** A record to send before the backlog (the hook's own event). */
  first?: string;
}

/** The most entries one PutEvents call takes. */
const BATCH_SIZE = 10;

/**
 * Sends what is spooled in `dir` within `deadline`, holding the spool lock so
 * that concurrent flushes never send a record twice at the same time.
 */
export async function flushSpool(
  dir: string,
  config: Config,
  deadline: Deadline,
  deps: FlushDeps,
  options: FlushOptions = {},
): Promise<FlushSummary> {
  const summary: FlushSummary = {
    sent: 0,
    kept: 0,
    failed: 0,
    dropped: 0,
    delivered: [],
    quarantined: new Map(),
  };
  await raceSignal(
    withSpoolLock(dir, () => flushLocked(dir, config, deadline, deps, options, summary)),
    deadline.signal,
  ).catch((error) => {
    summary.lastError ??= messageOf(error);
  });
  return summary;
}

async function flushLocked(
  dir: string,
  config: Config,
  deadline: Deadline,
  deps: FlushDeps,
  options: FlushOptions,
  summary: FlushSummary,
): Promise<void> {
  await removeStaleTemporaries(dir);
  const dropped = await enforceLimit(dir, config.spool_max_events);
  for (const name of dropped) deps.log(`spool full: dropped the oldest event ${name}`);
  summary.dropped = dropped.length;

  let names = await spoolList(dir);
  if (options.first && names.includes(options.first)) {
    names = [options.first, ...names.filter((n) => n !== options.first)];
  }
  const records: Array<{ name: string; record: CapturedEvent }> = [];
  for (const name of names) {
    try {
      records.push({ name, record: await spoolRead(dir, name) });
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue; // sent by a flush before ours
      const reason = `unreadable: ${messageOf(error)}`;
      await quarantine(dir, name, reason, deps, summary);
    }
  }

  let identity: Identity | undefined;
  const credentials = credentialsFor(config);
  let pending = records;
  while (pending.length > 0) {
    if (deadline.remaining() <= 0) break;
    if (!identity && pending.some((p) => !p.record.identity)) {
      try {
        // What the hook reports if its deadline passes while waiting here.
        summary.lastError = imdsFailure(config.imds_endpoint, "did not answer before the timeout");
        identity = await deps.identity(callDeadline(config, deadline));
        summary.lastError = undefined;
      } catch (error) {
        summary.lastError = messageOf(error);
        // Records that already carry an identity can still go.
        pending = pending.filter((p) => p.record.identity);
        if (pending.length === 0) break;
      }
    }
    const spoolDropped = await droppedCount(dir);
    const batch = await nextBatch(pending, identity, config, deps.version, spoolDropped);
    pending = pending.slice(batch.length);
    const region = config.region ?? (batch[0].record.identity ?? identity)!.region;
    // What the hook reports if its deadline passes while waiting here.
    summary.lastError = publishFailure({ code: "Timeout", message: "" }, region, config);
    const results = await deps.publish(batch.map((b) => b.entry), {
      region,
      endpoint: config.endpoint_url,
      credentials,
      caBundle: config.ca_bundle,
      profile: config.profile,
      deadline: callDeadline(config, deadline),
    });
    summary.lastError = undefined;
    const delivered: string[] = [];
    for (const [i, result] of results.entries()) {
      const { name } = batch[i];
      if (result.ok) {
        delivered.push(name);
      } else if (PERMANENT_CODES.has(result.code)) {
        const reason = `rejected by EventBridge: ${result.code}: ${result.message}`;
        // The hook reports its own event in its error line.
        await quarantine(dir, name, reason, deps, summary, name !== options.first);
      } else {
        summary.lastError = publishFailure(result, region, config);
      }
    }
    await spoolRemove(dir, delivered);
    summary.sent += delivered.length;
    summary.delivered.push(...delivered);
    if (spoolDropped > 0 && results[0]?.ok) {
      await setDropped(dir, (await droppedCount(dir)) - spoolDropped);
    }
    // EventBridge refused or is unreachable: the rest would fare no better now.
    if (results.some((r) => !r.ok && !PERMANENT_CODES.has(r.code))) break;
  }
  summary.kept = (await spoolList(dir)).length;
}

/** One network step's budget: the configured timeout, within the flush's own deadline. */
function callDeadline(config: Config, deadline: Deadline): Deadline {
  return deadlineIn(Math.min(config.timeout * 1000, deadline.remaining()));
}

/** The next records that fit one PutEvents call, with their entries. */
async function nextBatch(
  pending: Array<{ name: string; record: CapturedEvent }>,
  identity: Identity | undefined,
  config: Config,
  version: string,
  spoolDropped: number,
): Promise<Array<{ name: string; record: CapturedEvent; entry: EventEntry }>> {
  const batch = [];
  let bytes = 0;
  for (const { name, record } of pending.slice(0, BATCH_SIZE)) {
    const carriesDropped = batch.length === 0 && spoolDropped > 0 ? spoolDropped : undefined;
    const entry = await entryFor(
      record,
      record.identity ?? identity!,
      config,
      version,
      carriesDropped,
    );
    const size = entrySize(entry);
    if (batch.length > 0 && bytes + size > MAX_ENTRY_BYTES) break;
    bytes += size;
    batch.push({ name, record, entry });
  }
  return batch;
}

async function quarantine(
  dir: string,
  name: string,
  reason: string,
  deps: FlushDeps,
  summary: FlushSummary,
  log = true,
): Promise<void> {
  await spoolQuarantine(dir, name, reason).catch(() => {});
  summary.failed++;
  summary.quarantined.set(name, reason);
  if (log) deps.log(`moved ${name} to ${dir}/${FAILED_DIR}/: ${reason}`);
}
