/**
 * Typed errors and the sysexits(3) codes the CLI exits with.
 *
 * Every failure an operator can act on is a {@link TattleError}: its message is
 * the one line printed as `tattle: error: <message>`.
 *
 * @module
 */

/** Exit codes from sysexits(3). */
export const EXIT = {
  OK: 0,
  USAGE: 64,
  DATAERR: 65,
  UNAVAILABLE: 69,
  SOFTWARE: 70,
  TEMPFAIL: 75,
  CONFIG: 78,
} as const;

/** One of the {@link EXIT} codes. */
export type ExitCode = typeof EXIT[keyof typeof EXIT];

/** A failure with an operator-facing message and the exit code it maps to. */
export class TattleError extends Error {
  /** The sysexits code the CLI exits with. */
  readonly exitCode: ExitCode;

  constructor(exitCode: ExitCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TattleError";
    this.exitCode = exitCode;
  }
}

/** Bad command line or PAM_TYPE (exit 64). */
export function usageError(message: string): TattleError {
  return new TattleError(EXIT.USAGE, message);
}

/** Invalid or untrusted configuration (exit 78). */
export function configError(message: string): TattleError {
  return new TattleError(EXIT.CONFIG, message);
}

/** A service (IMDS, EventBridge) that could not be used (exit 69). */
export function unavailableError(message: string, cause?: unknown): TattleError {
  return new TattleError(EXIT.UNAVAILABLE, message, { cause });
}

/** The message of any thrown value, for one-line reports. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

/**
 * One phrase for a failed network request: `fetch` throws "fetch failed"
 * and keeps the reason in `cause`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { networkFailure } from "./errors.ts";
 * const error = new TypeError("fetch failed", {
 *   cause: new Error("error sending request for url (http://127.0.0.1:9/): client error (Connect): tcp connect error: Connection refused (os error 111)"),
 * });
 * assert.equal(networkFailure(error), "connection refused");
 * ```
 */
export function networkFailure(error: unknown): string {
  return networkCause(error).phrase;
}

/** What kind of network failure an error is: advice depends on it. */
export type NetworkCause =
  | "refused"
  | "dns"
  | "reset"
  | "unreachable"
  | "tls"
  | "timeout"
  | "other";

/**
 * The kind of a failed request, and one phrase for it (the innermost cause
 * when no kind fits).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { networkCause } from "./errors.ts";
 * const error = new TypeError("fetch failed", {
 *   cause: new Error("client error (Connect): invalid peer certificate: UnknownIssuer"),
 * });
 * assert.equal(networkCause(error).kind, "tls");
 * ```
 */
export function networkCause(error: unknown): { kind: NetworkCause; phrase: string } {
  const chain: string[] = [];
  for (let e = error; e !== undefined && chain.length < 8; e = (e as Error)?.cause) {
    chain.push(messageOf(e));
  }
  const text = chain.join(": ");
  const inner = (chain[chain.length - 1] ?? "unknown error")
    .replace(/^error sending request for url \([^)]*\): /, "");
  if (/connection refused/i.test(text)) return { kind: "refused", phrase: "connection refused" };
  if (/dns error|failed to lookup address/i.test(text)) {
    return { kind: "dns", phrase: "the host name does not resolve" };
  }
  if (/connection reset/i.test(text)) return { kind: "reset", phrase: "connection reset" };
  if (/unreachable/i.test(text)) return { kind: "unreachable", phrase: "network unreachable" };
  if (/certificate|tls|ssl|handshake/i.test(text)) return { kind: "tls", phrase: `TLS: ${inner}` };
  if (/deadline passed|timed? ?out|TimeoutError|aborted/i.test(text)) {
    return { kind: "timeout", phrase: "no answer before the timeout" };
  }
  return { kind: "other", phrase: inner };
}
