/**
 * Whether tattle runs as the compiled binary or as `deno run main.ts`
 * (development, and the tests' stand-in), and what the latter's launcher
 * gave deno itself (I/O, at load).
 *
 * @module
 */

/** Whether this process is `deno run main.ts` rather than the compiled binary. */
export function isScriptMode(execPath = Deno.execPath()): boolean {
  return /(^|\/)deno$/.test(execPath);
}

/**
 * Under `deno run`, the Deno cache its launcher named, read as this module
 * loads, before the hook clears its environment: a process started as
 * another account has no cache of its own. Never used by the binary.
 */
export const SCRIPT_DENO_DIR = isScriptMode() ? Deno.env.get("DENO_DIR") : undefined;
