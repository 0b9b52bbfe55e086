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
