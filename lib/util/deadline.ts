/**
 * One total time budget shared by every network step of a run.
 *
 * Neither AWS SDK client has a timeout by default, and some of their steps
 * (credential resolution) ignore abort signals, so every step is raced
 * against the deadline as well as given its signal.
 *
 * Deadlines run on the monotonic clock (`performance.now()`, timers): the
 * wall clock steps (NTP, an operator), and a deadline on it can move away
 * while it is being waited for.
 *
 * @module
 */

/** A point in time after which work is abandoned. */
export interface Deadline {
  /** Aborts when the deadline passes. */
  readonly signal: AbortSignal;
  /** Milliseconds left, never negative. */
  remaining(): number;
}

/**
 * A deadline at `at` on the monotonic clock (`performance.now()`, which
 * counts from the process's start).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { deadlineAt } from "./deadline.ts";
 * const passed = deadlineAt(performance.now() - 1);
 * assert.equal(passed.remaining(), 0);
 * ```
 */
export function deadlineAt(at: number): Deadline {
  const ms = Math.max(0, at - performance.now());
  return {
    signal: AbortSignal.timeout(ms),
    remaining: () => Math.max(0, at - performance.now()),
  };
}

/** A deadline `ms` from now. */
export function deadlineIn(ms: number): Deadline {
  return deadlineAt(performance.now() + ms);
}

/**
 * `deadline`, or sooner when `stop` aborts: what is under way finishes (its
 * own step deadline stands), nothing new starts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { deadlineIn, untilStopped } from "./deadline.ts";
 * const stop = new AbortController();
 * const deadline = untilStopped(deadlineIn(60_000), stop.signal);
 * stop.abort();
 * assert.equal(deadline.remaining(), 0);
 * assert.equal(deadline.signal.aborted, true);
 * ```
 */
export function untilStopped(deadline: Deadline, stop: AbortSignal | undefined): Deadline {
  if (!stop) return deadline;
  return {
    signal: AbortSignal.any([deadline.signal, stop]),
    remaining: () => stop.aborted ? 0 : deadline.remaining(),
  };
}

/** A deadline for one step: `ms`, or less when `within` ends sooner. */
export function stepDeadline(ms: number, within: Deadline): Deadline {
  return deadlineIn(Math.min(ms, within.remaining()));
}

/** The error a step fails with when the deadline passes first. */
export class DeadlineError extends Error {
  constructor() {
    super("the deadline passed");
    this.name = "DeadlineError";
  }
}

/** Settles like `promise`, or rejects with {@link DeadlineError} when `signal` aborts first. */
export function raceSignal<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(new DeadlineError());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new DeadlineError());
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** Waits `ms`, or less when `signal` aborts first (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * How long one local file step (the spool write, the state directory's
 * records) may take before tattle goes on without it: a stalled disk must
 * not hold a login.
 */
export const LOCAL_STEP_BOUND_MS = 10_000;

/**
 * Settles like `work`, or rejects with "`what` took more than N s" once `ms`
 * pass (the work goes on, abandoned). On the runtime's own timer: the
 * global `setTimeout` loads Node's timers, a tenth of the hook's CPU.
 */
export async function withinBound<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  try {
    return await raceSignal(work, AbortSignal.timeout(ms));
  } catch (error) {
    if (error instanceof DeadlineError) throw new Error(`${what} took more than ${ms / 1000} s`);
    throw error;
  }
}
