/**
 * Reading the hook's environment: pam_exec's own items told apart from
 * copies a user planted, without ever throwing (I/O).
 *
 * PAM values can be any bytes. `Deno.env.get` throws `InvalidData` for a value
 * that is not valid UTF-8 and `Deno.env.toObject` silently drops it, so a
 * hostile PAM_USER could otherwise crash the hook or vanish from the event.
 *
 * When a name appears twice, `Deno.env.get` (getenv) returns the first copy
 * and `Deno.env.toObject` keeps the last; `Deno.env.set` (setenv) replaces
 * only the first and `Deno.env.delete` (unsetenv) removes them all.
 *
 * @module
 */

import {
  isAwsVariable,
  isRuntimeVariable,
  keptInHook,
  KNOWN_RUNTIME_VARIABLES,
  PAM_EXEC_ITEMS,
} from "./variables.ts";

/** Looks up one variable; `undefined` when it is not set. Never throws. */
export type EnvReader = (name: string) => string | undefined;

/** An {@link EnvReader} over a plain object, for tests and fixtures. */
export function envFrom(vars: Record<string, string | undefined>): EnvReader {
  return (name) => vars[name];
}

/**
 * An {@link EnvReader} over this process's environment. A value that is not
 * valid UTF-8 is decoded with U+FFFD in place of each invalid sequence.
 */
export function processEnv(): EnvReader {
  return (name) => {
    try {
      return Deno.env.get(name);
    } catch (error) {
      if (error instanceof Deno.errors.InvalidData) {
        return recoverInvalidValue(error.message);
      }
      throw error;
    }
  };
}

const decoder = new TextDecoder("utf-8", { fatal: false });
const encoder = new TextEncoder();

/**
 * Deno reports an invalid value only inside its error message, as Rust's
 * debug form of the raw bytes (`"bob\xFF"`). Decode that form back to bytes so
 * the valid parts of the value survive; without it, return a lone U+FFFD.
 */
export function recoverInvalidValue(message: string): string {
  const start = message.indexOf('"');
  const end = message.lastIndexOf('"');
  if (start < 0 || end <= start) return "\uFFFD";
  const bytes = decodeDebugString(message.slice(start + 1, end));
  return bytes ? decoder.decode(bytes) : "\uFFFD";
}

const SIMPLE_ESCAPES: Record<string, number> = {
  "n": 0x0a,
  "r": 0x0d,
  "t": 0x09,
  "0": 0x00,
  "\\": 0x5c,
  '"': 0x22,
  "'": 0x27,
};

/** Bytes of a Rust debug-escaped string body, or `undefined` if malformed. */
function decodeDebugString(body: string): Uint8Array | undefined {
  const out: number[] = [];
  let i = 0;
  while (i < body.length) {
    const ch = body[i];
    if (ch !== "\\") {
      const cp = body.codePointAt(i)!;
      const char = String.fromCodePoint(cp);
      out.push(...encoder.encode(char));
      i += char.length;
      continue;
    }
    const next = body[i + 1];
    if (next in SIMPLE_ESCAPES) {
      out.push(SIMPLE_ESCAPES[next]);
      i += 2;
    } else if (next === "x") {
      const byte = parseInt(body.slice(i + 2, i + 4), 16);
      if (!/^[0-9a-fA-F]{2}$/.test(body.slice(i + 2, i + 4))) return undefined;
      out.push(byte);
      i += 4;
    } else if (next === "u" && body[i + 2] === "{") {
      const close = body.indexOf("}", i + 3);
      const cp = parseInt(body.slice(i + 3, close), 16);
      if (close < 0 || !Number.isInteger(cp) || cp > 0x10ffff) return undefined;
      out.push(...encoder.encode(String.fromCodePoint(cp)));
      i = close + 1;
    } else {
      return undefined;
    }
  }
  return Uint8Array.from(out);
}

/** What the hook's environment says once pam_exec's items are told apart from copies. */
export interface HookEnvironment {
  /** Reads the environment, each PAM item as pam_exec set it. */
  read: EnvReader;
  /** Sorted names of PAM items that occur more than once: someone planted a copy. */
  tamper: string[];
  /**
   * Sorted names of runtime or loader variables the runtime did not set: under
   * pam_exec someone tried to steer the hook; run by hand, a shell's own.
   */
  runtime: string[];
  /** The AWS_* variables that were removed, for a config that trusts the environment. */
  aws: Record<string, string>;
}

/**
 * The hook's first step. Reads each PAM item from pam_exec's own (last)
 * copy, lists what points to tampering, then removes every variable but the
 * PAM items and sshd's, so that neither the runtime nor the AWS SDK reads
 * what a user set. It must run before anything creates a `Date` (V8 then
 * reads TZ, which may name a FIFO) or a network client (the runtime then
 * reads DENO_CERT and friends). `expected` names runtime variables that the
 * runtime or the launcher set themselves.
 *
 * A last copy that is not valid UTF-8 cannot be seen (`toObject` drops it);
 * then the first copy is used. README, Security, says when that can happen.
 */
export function takeHookEnvironment(expected: ReadonlySet<string>): HookEnvironment {
  const read = processEnv();
  const listed = Deno.env.toObject();
  const tamper = new Set<string>();
  const firsts = new Map<string, string>();
  const probe = `\u0001${crypto.randomUUID()}`;
  for (const name of PAM_EXEC_ITEMS) {
    const first = read(name);
    if (first === undefined) continue;
    firsts.set(name, first);
    Deno.env.set(name, probe); // replaces the first copy only
  }
  const probed = Deno.env.toObject();
  for (const [name, first] of firsts) {
    const last = probed[name];
    const duplicated = last !== undefined && last !== probe;
    if (duplicated) tamper.add(name);
    Deno.env.delete(name); // every copy
    Deno.env.set(name, duplicated ? last : first);
  }
  const present = new Set(Object.keys(listed));
  for (const name of KNOWN_RUNTIME_VARIABLES) if (isSetButNotUtf8(name)) present.add(name);
  const runtime = [...present].filter((name) => isRuntimeVariable(name) && !expected.has(name));
  const aws: Record<string, string> = {};
  for (const [name, value] of Object.entries(listed)) {
    if (isAwsVariable(name)) aws[name] = value;
    if (!keptInHook(name)) Deno.env.delete(name);
  }
  // Listed by name too: a value that is not UTF-8 hides a name from toObject.
  for (const name of KNOWN_RUNTIME_VARIABLES) Deno.env.delete(name);
  return { read, tamper: [...tamper].sort(), runtime: runtime.sort(), aws };
}

function isSetButNotUtf8(name: string): boolean {
  try {
    Deno.env.get(name);
    return false;
  } catch {
    return true;
  }
}
