/**
 * Just enough of EventBridge's event pattern matching and input transformer
 * to check the deploy kit against real events: exact values in arrays,
 * nested objects, and `$.a.b` paths.
 *
 * @module
 */

/** Whether `event` matches `pattern` (every key; values listed as arrays of allowed values). */
export function matches(pattern: Record<string, unknown>, event: Record<string, unknown>): boolean {
  return Object.entries(pattern).every(([key, expected]) => {
    const actual = event[key];
    if (Array.isArray(expected)) {
      const values = Array.isArray(actual) ? actual : [actual];
      return values.some((v) => expected.includes(v));
    }
    return typeof actual === "object" && actual !== null &&
      matches(expected as Record<string, unknown>, actual as Record<string, unknown>);
  });
}

/** The value at a `$.a.b` path. */
export function atPath(event: unknown, path: string): unknown {
  return path.replace(/^\$\.?/, "").split(".").filter(Boolean)
    .reduce((value: unknown, key) => (value as Record<string, unknown> | undefined)?.[key], event);
}

/** The text an input transformer produces for `event`. */
export function transform(
  transformer: { InputPathsMap: Record<string, string>; InputTemplate: string },
  event: unknown,
): string {
  return transformer.InputTemplate.replace(/<([A-Za-z0-9_.-]+)>/g, (_, name) => {
    const path = transformer.InputPathsMap[name];
    if (path === undefined) throw new Error(`template variable <${name}> has no path`);
    return String(atPath(event, path) ?? "");
  });
}
