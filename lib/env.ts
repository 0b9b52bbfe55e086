/**
 * Reading the process environment without ever throwing.
 *
 * PAM values can be any bytes. `Deno.env.get` throws `InvalidData` for a value
 * that is not valid UTF-8 and `Deno.env.toObject` silently drops it, so a
 * hostile PAM_USER could otherwise crash the hook or vanish from the event.
 *
 * @module
 */

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
