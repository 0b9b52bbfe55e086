/**
 * How a failed run is reported: one line on stderr, a stack trace only with
 * `--debug`, and the exit code.
 *
 * @module
 */

import { EXIT, type ExitCode, messageOf, TattleError } from "../util/errors.ts";

/** Writes a line to stderr; injected by tests. */
export type WriteLine = (line: string) => void;

/** Writes `line` and a newline to stderr, synchronously (the process exits right after). */
export function stderrLine(line: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(`${line}\n`));
}

/** Reports `error` and returns the exit code for it. */
export function reportError(
  error: unknown,
  debug: boolean,
  write: WriteLine = stderrLine,
): ExitCode {
  const known = error instanceof TattleError;
  const message = known ? error.message : `internal error: ${messageOf(error)}`;
  write(`tattle: error: ${message.replaceAll(/[\r\n]+/g, " ")}`);
  if (debug && error instanceof Error && error.stack) {
    write(error.stack);
    if (error.cause instanceof Error && error.cause.stack) write(`caused by: ${error.cause.stack}`);
  }
  return known ? error.exitCode : EXIT.SOFTWARE;
}
