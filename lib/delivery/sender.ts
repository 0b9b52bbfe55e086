/**
 * The sender: holds the sender lock for its whole life and sends what
 * arrives, then stays `sender_idle` seconds for more (I/O).
 *
 * A burst of logins costs one runtime start and one credential fetch, and
 * its events go in full batches. On a systemd host it is a service that
 * its socket starts; elsewhere a hook starts it when none is running.
 *
 * Leaving without stranding a record: the sender stops taking the
 * service's socket connections, releases the lock, then lists the spool
 * once more and takes the lock back if anything is there. A hook writes
 * its record before it knocks or looks for a sender; so either its knock
 * waits in systemd's socket (which starts a new sender), or it saw the lock
 * free (and starts one), or its record was written before this last
 * listing. Starting: the sender removes the start marker before it tries
 * the lock, for the same reason (tests/sender_test.ts holds the stress test
 * that found the other order's hole).
 *
 * @module
 */

import { type Deadline, deadlineIn, sleep, untilStopped } from "../util/deadline.ts";
import { messageOf } from "../util/errors.ts";
import type { FlushSummary } from "./flush.ts";
import { lockWithin, openLock, type SenderLock, tryLock } from "./lock.ts";
import { clearStartMarker } from "./spawn.ts";
import { spoolList } from "./spool.ts";

/** Signs, besides the spool's own changes, that something was spooled. */
export interface WakeSource {
  /** Starts calling `wake` on each sign. */
  start(wake: () => void): Promise<void>;
  /** Stops; signs that come later are for the next sender. */
  close(): Promise<void>;
}

/** How a sender runs. */
export interface SenderOptions {
  dir: string;
  /** The sender lock's path. */
  lock: string;
  /** Hooks' knocks on the service's socket, when systemd started this sender. */
  wakes?: WakeSource;
  /** How long to stay once the spool is empty; `Infinity` stays for good. */
  lingerMs: number;
  /** While it stays, a pass this often even when nothing arrives (reconciliation runs in it). */
  passEveryMs?: number;
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
  /**
   * Asks the sender to stop (SIGTERM: a restart, an upgrade): it waits for the
   * PutEvents under way (an answer given up on could mean events sent twice),
   * starts no other, and leaves.
   */
  stop?: AbortSignal;
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
  const lockFile = await openLock(options.lock);
  clearStartMarker(dir);
  let lock: SenderLock | undefined = lockFile.take();
  // The service is the one sender systemd starts: a `tattle flush` holding the lock ends
  // within its budget, and leaving would only have systemd start it again at once.
  if (!lock && options.wakes) lock = await lockWithin(options.lock, Infinity);
  if (!lock) return report;
  report.ran = true;
  const watch = spoolWatch(dir);
  await options.wakes?.start(watch.wake);
  let failingSince: number | undefined;
  let failures = 0;
  let onIdle = options.onIdle;
  let idleSince: number | undefined;
  const { stop } = options;
  try {
    while (lock && !stop?.aborted) {
      const summary = await options.pass(untilStopped(deadlineIn(options.passBudgetMs), stop));
      report.passes++;
      report.sent += summary.sent;
      report.remaining = summary.remaining;
      if (summary.sent > 0) idleSince = undefined;
      if (summary.remaining === 0) {
        failingSince = undefined;
        failures = 0;
        await onIdle?.().catch((error) => options.log(`housekeeping: ${messageOf(error)}`));
        onIdle = undefined;
        idleSince ??= performance.now();
        const left = options.lingerMs - (performance.now() - idleSince);
        if (await watch.next(Math.min(left, options.passEveryMs ?? Infinity), stop)) {
          idleSince = undefined; // work came: stay sender_idle from the next empty spool
          continue;
        }
        if (stop?.aborted) break;
        if (performance.now() - idleSince < options.lingerMs) continue; // a periodic pass
        await options.wakes?.close();
        lock = await leave(dir, options.lock, lock);
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
      await sleep((options.random ?? Math.random)() * cap, stop);
    }
  } catch (error) {
    options.log(`sender stopped: ${messageOf(error)}`);
  } finally {
    await options.wakes?.close();
    watch.close();
    lock?.release();
  }
  return report;
}

/** Releases the lock, then takes it back if anything was spooled meanwhile. */
async function leave(
  dir: string,
  path: string,
  lock: SenderLock,
): Promise<SenderLock | undefined> {
  lock.release();
  if ((await spoolList(dir)).length === 0) return undefined;
  return await tryLock(path); // undefined: another holder will see them
}

/**
 * Waits for records to appear in the spool, woken by inotify or a knock
 * ({@link spoolWatch.wake}), confirmed by listing.
 */
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
  let knocked = Promise.withResolvers<void>();
  return {
    /** A knock: look at the spool now. */
    wake() {
      knocked.resolve();
    },
    /** Whether records appeared within `ms` (false at once when `stop` is aborted). */
    async next(ms: number, stop?: AbortSignal): Promise<boolean> {
      const end = performance.now() + ms;
      const stopped = new Promise<"stop">((resolve) => {
        if (stop?.aborted) resolve("stop");
        stop?.addEventListener("abort", () => resolve("stop"), { once: true });
      });
      for (;;) {
        // Look at most once a minute without an event, and re-check after every one:
        // this process's own writes wake the watcher too.
        const wait = Math.min(end - performance.now(), 60_000);
        if (wait <= 0) return false;
        pending ??= events?.next() ?? new Promise((r) => setTimeout(r, Math.min(250, wait)));
        let timer: ReturnType<typeof setTimeout> | undefined;
        const woke = await Promise.race([
          pending.then(() => "event" as const),
          knocked.promise.then(() => "knock" as const),
          new Promise<false>((r) => timer = setTimeout(() => r(false), wait)),
          stopped,
        ]);
        clearTimeout(timer);
        if (woke === "stop") return false;
        if (woke === "event") pending = undefined;
        if (woke === "knock") knocked = Promise.withResolvers<void>();
        if ((await spoolList(dir)).length > 0) return true;
      }
    },
    close() {
      watcher?.close();
    },
  };
}
