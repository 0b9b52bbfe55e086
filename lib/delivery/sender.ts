/**
 * The sender: holds the spool's lock for its whole life and sends what
 * arrives, then lingers a few seconds for more (I/O).
 *
 * A burst of logins costs one runtime start and one credential fetch, and
 * its events go in full batches. Started by a hook when none is running,
 * or resident under systemd (`--resident`: it never leaves).
 *
 * Leaving without stranding a record: the sender releases the lock, then
 * lists the spool once more and takes the lock back if anything is there.
 * A hook writes its record before it looks for a sender; so either the
 * hook saw the lock free (and starts a sender), or its record was written
 * before this last listing. Starting: the sender removes the start marker
 * before it tries the lock, for the same reason (tests/sender_test.ts holds
 * the stress test that found the other order's hole).
 *
 * @module
 */

import { type Deadline, deadlineIn, sleep } from "../util/deadline.ts";
import { messageOf } from "../util/errors.ts";
import type { FlushSummary } from "./flush.ts";
import { clearStartMarker } from "./spawn.ts";
import { openSpoolLock, spoolList, type SpoolLock, tryLockSpool } from "./spool.ts";

/** How a sender runs. */
export interface SenderOptions {
  dir: string;
  /** How long to stay once the spool is empty; `Infinity` stays for good. */
  lingerMs: number;
  /** How long to keep trying while delivery fails, before leaving the rest to the next sender. */
  retryBudgetMs: number;
  /** One pass over the spool within `deadline`; the sender holds the lock. */
  pass: (deadline: Deadline) => Promise<FlushSummary>;
  /** The budget of one pass. */
  passBudgetMs: number;
  /**
   * Housekeeping, run once the spool is first empty: after the first
   * events went, not before them.
   */
  onIdle?: () => Promise<void>;
  log: (line: string) => void;
  /** Jitter source, injected by tests. */
  random?: () => number;
}

/** What a sender did. */
export interface SenderReport {
  /** False when another sender held the spool: this one left at once. */
  ran: boolean;
  passes: number;
  sent: number;
  /** Events still spooled when it left. */
  remaining: number;
}

/** The longest wait between two passes while delivery fails. */
const MAX_PAUSE_MS = 60_000;

/** Runs the sender until it has nothing to do (or for good, when resident). */
export async function runSender(options: SenderOptions): Promise<SenderReport> {
  const { dir } = options;
  const report: SenderReport = { ran: false, passes: 0, sent: 0, remaining: 0 };
  // The marker first, the lock after: a hook that trusted the marker wrote its
  // record before this removal, so whoever holds the lock next lists it. Back
  // to back: a hook that comes between them starts a second sender.
  const lockFile = await openSpoolLock(dir);
  clearStartMarker(dir);
  let lock: SpoolLock | undefined = lockFile.take();
  if (!lock) return report;
  report.ran = true;
  const watch = spoolWatch(dir);
  let failingSince: number | undefined;
  let failures = 0;
  let onIdle = options.onIdle;
  try {
    while (lock) {
      const summary = await options.pass(deadlineIn(options.passBudgetMs));
      report.passes++;
      report.sent += summary.sent;
      report.remaining = summary.remaining;
      if (summary.remaining === 0) {
        failingSince = undefined;
        failures = 0;
        await onIdle?.().catch((error) => options.log(`housekeeping: ${messageOf(error)}`));
        onIdle = undefined;
        if (await watch.next(options.lingerMs)) continue;
        lock = await leave(dir, lock);
        continue;
      }
      if (summary.sent > 0 && !summary.held) continue; // progress: the budget ran out, go on
      failingSince ??= performance.now();
      if (performance.now() - failingSince >= options.retryBudgetMs) {
        options.log(
          `leaving ${summary.remaining} event(s) for the next sender: ${summary.problem}`,
        );
        break;
      }
      // Full jitter, so that a fleet recovering from an outage does not retry in step.
      const cap = Math.min(MAX_PAUSE_MS, 1000 * 2 ** failures++);
      await sleep((options.random ?? Math.random)() * cap);
    }
  } catch (error) {
    options.log(`sender stopped: ${messageOf(error)}`);
  } finally {
    watch.close();
    lock?.release();
  }
  return report;
}

/** Releases the lock, then takes it back if anything was spooled meanwhile. */
async function leave(dir: string, lock: SpoolLock): Promise<SpoolLock | undefined> {
  lock.release();
  if ((await spoolList(dir)).length === 0) return undefined;
  return await tryLockSpool(dir); // undefined: another holder will see them
}

/** Waits for records to appear in the spool, woken by inotify, confirmed by listing. */
function spoolWatch(dir: string) {
  let watcher: Deno.FsWatcher | undefined;
  let events: AsyncIterator<Deno.FsEvent> | undefined;
  try {
    watcher = Deno.watchFs(dir, { recursive: false });
    events = watcher[Symbol.asyncIterator]();
  } catch {
    // No inotify (limits, an odd file system): look every quarter second instead.
  }
  let pending: Promise<unknown> | undefined;
  return {
    /** Whether records appeared within `ms`. */
    async next(ms: number): Promise<boolean> {
      const end = performance.now() + ms;
      for (;;) {
        // Look at most once a minute without an event, and re-check after every one:
        // this process's own writes wake the watcher too.
        const wait = Math.min(end - performance.now(), 60_000);
        if (wait <= 0) return false;
        pending ??= events?.next() ?? new Promise((r) => setTimeout(r, Math.min(250, wait)));
        let timer: ReturnType<typeof setTimeout> | undefined;
        const woke = await Promise.race([
          pending.then(() => true),
          new Promise<false>((r) => timer = setTimeout(() => r(false), wait)),
        ]);
        clearTimeout(timer);
        if (woke) pending = undefined;
        if ((await spoolList(dir)).length > 0) return true;
      }
    },
    close() {
      watcher?.close();
    },
  };
}
