/**
 * The package's copyright file: tattle's license, then what the binary
 * embeds (the Deno runtime, the npm packages its code imports and theirs)
 * with each package's own license text (pure).
 *
 * @module
 */

/** An npm package the binary embeds. */
export interface EmbeddedPackage {
  name: string;
  version: string;
  /** Its package.json's `license`. */
  license: string;
  /** Its license file(s), as shipped in the package. */
  texts: string[];
}

/** deno.lock's npm section: `name@version` → the names (or `name@version`) it depends on. */
export type LockedNpm = Record<string, { dependencies?: string[] }>;

/**
 * The packages reachable from `roots` (`name@version`) through the lock's
 * dependencies: what the compiled binary embeds, and nothing only the tests
 * import.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { embeddedPackages } from "./copyright.ts";
 * const lock = { "a@1.0.0": { dependencies: ["b"] }, "b@2.0.0": {}, "test-only@1.0.0": {} };
 * assert.deepEqual(embeddedPackages(lock, ["a@1.0.0"]), ["a@1.0.0", "b@2.0.0"]);
 * ```
 */
export function embeddedPackages(lock: LockedNpm, roots: string[]): string[] {
  const keys = Object.keys(lock);
  const resolve = (dependency: string) => {
    if (Object.hasOwn(lock, dependency)) return dependency;
    const matches = keys.filter((key) => key.slice(0, key.lastIndexOf("@")) === dependency);
    if (matches.length !== 1) {
      throw new Error(`deno.lock: ${dependency} resolves to ${matches.length} packages`);
    }
    return matches[0];
  };
  const seen = new Set<string>();
  const visit = (key: string) => {
    if (seen.has(key)) return;
    if (!Object.hasOwn(lock, key)) throw new Error(`deno.lock has no ${key}`);
    seen.add(key);
    for (const dependency of lock[key].dependencies ?? []) visit(resolve(dependency));
  };
  roots.forEach(visit);
  return [...seen].sort();
}

/** The full text of the Apache License 2.0, as packages ship it. */
const APACHE_2 = /Apache License\s+Version 2\.0, January 2004/;

/** The copyright file's text. */
export function copyrightFile(
  tattleLicense: string,
  denoVersion: string,
  packages: EmbeddedPackage[],
): string {
  const width = Math.max(...packages.map((p) => `${p.name} ${p.version}`.length));
  const listed = packages.map((p) => `  ${`${p.name} ${p.version}`.padEnd(width)}  ${p.license}`);
  // Packages from one project ship the same license file: each text once. The Apache
  // License's own text is on every Debian system: it is referred to, not repeated.
  const texts = new Map<string, string[]>();
  for (const p of packages) {
    for (const text of p.texts.filter((t) => !APACHE_2.test(t))) {
      const key = text.replaceAll("\r\n", "\n").trim();
      texts.set(key, [...texts.get(key) ?? [], p.name]);
    }
  }
  return [
    "tattle: reports SSH logins and logouts to Amazon EventBridge.",
    "",
    tattleLicense.trim(),
    "",
    `The tattle binary is built with deno compile: it contains the Deno runtime ${denoVersion}`,
    "(Copyright 2018-2026 the Deno authors; MIT, the license above with that notice) and these",
    "npm packages, each under the license named. The Apache License 2.0 is in",
    "/usr/share/common-licenses/Apache-2.0; the other packages' license files follow.",
    "",
    ...listed,
    ...[...texts].flatMap(([text, names]) => [
      "",
      `--- ${[...new Set(names)].join(", ")} ---`,
      "",
      text,
    ]),
    "",
  ].join("\n");
}
