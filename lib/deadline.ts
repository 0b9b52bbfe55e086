/**
 * One total time budget shared by every network step of a run.
 *
 * Neither AWS SDK client has a timeout by default, and some of their steps
 * (credential resolution) ignore abort signals, so every step is raced
 * against the deadline as well as given its signal.
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

/** A deadline at `at` (milliseconds since the epoch) on the given clock. */
export function deadlineAt(at: number, now: () => number = Date.now): Deadline {
  return {
    signal: AbortSignal.timeout(Math.max(0, at - now())),
    remaining: () => Math.max(0, at - now()),
  };
}

/** A deadline `ms` from now. */
export function deadlineIn(ms: number, now: () => number = Date.now): Deadline {
  return deadlineAt(now() + ms, now);
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
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
