/**
 * Shapes: a value's type and its validator from one declaration (pure).
 *
 * Every shape tattle reads from outside (config, spool records, session
 * records, the identity document) or builds for others (the Detail) is
 * declared once with these functions; `Infer` gives its TypeScript type and
 * `parse` checks a value against it, so the two cannot drift.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Infer, integer, object, optional, string } from "./shape.ts";
 * const USER = object({ name: string({ max: 32 }), uid: optional(integer({ min: 0 })) });
 * type User = Infer<typeof USER>;
 * const user: User = USER.parse({ name: "alice", uid: 1000 });
 * assert.equal(user.uid, 1000);
 * assert.throws(() => USER.parse({ name: 7 }), /name: must be a string/);
 * ```
 *
 * @module
 */

/** A value that does not fit its shape: where (a dotted path) and why. */
export class ShapeError extends Error {
  constructor(readonly path: string, readonly problem: string) {
    super(path ? `${path}: ${problem}` : problem);
    this.name = "ShapeError";
  }
}

/** A declared shape: checks an unknown value and returns it typed (possibly normalized). */
export interface Shape<T> {
  /** @throws {ShapeError} naming the path and the problem. */
  parse(value: unknown, path?: string): T;
  /** What values are accepted, in a few words, for documentation. */
  readonly describe: string;
}

/** A shape whose key may be absent from an object. */
export interface OptionalShape<T> extends Shape<T | undefined> {
  readonly optional: true;
  readonly inner: Shape<T>;
}

/** The type a shape declares. */
export type Infer<S> = S extends Shape<infer T> ? T : never;

function shape<T>(describe: string, parse: (value: unknown, path: string) => T): Shape<T> {
  return { describe, parse: (value, path = "") => parse(value, path) };
}

/** A string, by length (UTF-16 units) and an optional full-match pattern. */
export function string(
  options: { min?: number; max?: number; pattern?: RegExp; describe?: string } = {},
): Shape<string> {
  const { min = 0, max = Infinity, pattern } = options;
  return shape(options.describe ?? "a string", (value, path) => {
    if (typeof value !== "string") throw new ShapeError(path, "must be a string");
    if (value.length < min || value.length > max) {
      throw new ShapeError(
        path,
        max === Infinity
          ? `must be at least ${min} characters`
          : `must be ${min} to ${max} characters`,
      );
    }
    if (pattern && !pattern.test(value)) {
      throw new ShapeError(path, `must be ${options.describe ?? `like ${pattern.source}`}`);
    }
    return value;
  });
}

/** A finite number within bounds. */
export function number(
  options: { min?: number; max?: number; above?: number } = {},
): Shape<number> {
  const { min = -Infinity, max = Infinity, above } = options;
  const range = above !== undefined
    ? `greater than ${above} and at most ${max}`
    : `${min} to ${max}`;
  return shape("a number", (value, path) => {
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new ShapeError(path, "must be a number");
    }
    if (value < min || value > max || (above !== undefined && value <= above)) {
      throw new ShapeError(path, `must be a number ${range}`);
    }
    return value;
  });
}

/** A whole number within bounds. */
export function integer(options: { min?: number; max?: number } = {}): Shape<number> {
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = options;
  return shape("a whole number", (value, path) => {
    if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
      throw new ShapeError(path, `must be a whole number from ${min} to ${max}`);
    }
    return value as number;
  });
}

/** true or false. */
export const boolean: Shape<boolean> = shape("true or false", (value, path) => {
  if (typeof value !== "boolean") throw new ShapeError(path, "must be true or false");
  return value;
});

/** One of the given strings. */
export function literal<const T extends readonly string[]>(...values: T): Shape<T[number]> {
  const shown = values.map((v) => `"${v}"`).join(" or ");
  return shape(shown, (value, path) => {
    if (!values.includes(value as string)) throw new ShapeError(path, `must be ${shown}`);
    return value as T[number];
  });
}

/** A list of values of one shape. */
export function array<T>(item: Shape<T>, options: { max?: number } = {}): Shape<T[]> {
  return shape(`a list of ${item.describe}`, (value, path) => {
    if (!Array.isArray(value)) throw new ShapeError(path, "must be a list");
    if (options.max !== undefined && value.length > options.max) {
      throw new ShapeError(path, `must have at most ${options.max} entries`);
    }
    return value.map((v, i) => item.parse(v, `${path}[${i}]`));
  });
}

/** An object whose values all have one shape (keys are free). */
export function record<T>(value: Shape<T>): Shape<Record<string, T>> {
  return shape(`an object of ${value.describe}`, (input, path) => {
    if (typeof input !== "object" || input === null || Array.isArray(input)) {
      throw new ShapeError(path, "must be an object");
    }
    const out: Record<string, T> = {};
    for (const [k, v] of Object.entries(input)) out[k] = value.parse(v, join(path, k));
    return out;
  });
}

/** A key that may be absent (or undefined). */
export function optional<T>(inner: Shape<T>): OptionalShape<T> {
  return {
    optional: true,
    inner,
    describe: inner.describe,
    parse: (value, path = "") => value === undefined ? undefined : inner.parse(value, path),
  };
}

/** A shape checked further, or normalized, after it parses. */
export function refine<T, U = T>(
  inner: Shape<T>,
  check: (value: T) => U,
  describe = inner.describe,
): Shape<U> {
  return shape(describe, (value, path) => {
    const parsed = inner.parse(value, path);
    try {
      return check(parsed);
    } catch (problem) {
      if (problem instanceof ShapeError) throw problem;
      throw new ShapeError(path, problem instanceof Error ? problem.message : String(problem));
    }
  });
}

/** The properties of an object shape. */
export type Properties = Record<string, Shape<unknown>>;

type RequiredKeys<P> = { [K in keyof P]: P[K] extends OptionalShape<unknown> ? never : K }[keyof P];
type OptionalKeys<P> = { [K in keyof P]: P[K] extends OptionalShape<unknown> ? K : never }[keyof P];
type Flatten<T> = { [K in keyof T]: T[K] };

/** The type of an object with properties `P`. */
export type ObjectOf<P extends Properties> = Flatten<
  & { [K in RequiredKeys<P>]: Infer<P[K]> }
  & { [K in OptionalKeys<P>]?: Exclude<Infer<P[K]>, undefined> }
>;

/** An object shape, with its properties for those who document or extend it. */
export interface ObjectShape<P extends Properties> extends Shape<ObjectOf<P>> {
  readonly properties: P;
}

/**
 * An object with the given properties. Unknown keys are an error when
 * `strict` (a config key typed wrong must not be ignored), else dropped.
 * Absent optional keys stay absent.
 */
export function object<P extends Properties>(
  properties: P,
  options: { strict?: boolean } = {},
): ObjectShape<P> {
  const parsed = shape("an object", (value, path) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new ShapeError(path, "must be an object");
    }
    const input = value as Record<string, unknown>;
    if (options.strict) {
      const unknown = Object.keys(input).find((k) => !Object.hasOwn(properties, k));
      if (unknown !== undefined) throw new ShapeError(join(path, unknown), "is not a known key");
    }
    const out: Record<string, unknown> = {};
    for (const [key, property] of Object.entries(properties)) {
      const item = property.parse(input[key], join(path, key));
      if (item !== undefined) out[key] = item;
      else if (!("optional" in property)) throw new ShapeError(join(path, key), "is missing");
    }
    return out as ObjectOf<P>;
  });
  return { ...parsed, properties };
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}
