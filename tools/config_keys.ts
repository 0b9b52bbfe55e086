/**
 * `deno task docs`: writes the README's list of config keys from the
 * settings' declaration (lib/config/settings.ts), between its two markers.
 * A test checks that the README holds this list (as deno fmt wraps it).
 *
 * @module
 */

import { PERMISSION_SET } from "../lib/cli/permissions.ts";
import { SETTING_KEYS } from "../lib/config/config.ts";
import { PATH_SETTINGS } from "../lib/config/reach.ts";
import { DEFAULTS, flagOf, SETTING_DOCS } from "../lib/config/settings.ts";

/** The markers around the list in README.md. */
export const MARKERS = ["<!-- config keys: deno task docs -->", "<!-- end of config keys -->"];

/** The keys, one Markdown list item each. */
export function configKeys(): string {
  return SETTING_KEYS.map((key) => {
    const doc = SETTING_DOCS[key];
    const value = (DEFAULTS as Record<string, unknown>)[key];
    const fallback = doc.defaultText?.replace(/^\((.*)\)$/, "$1") ??
      (value === undefined ? "none" : `\`${JSON.stringify(value)}\``);
    const flag = flagOf(key);
    const flagText = flag
      ? `flag \`--${flag.name}\`${flag.kind === "list" ? " (repeatable)" : ""}`
      : `no flag (${"none" in doc.flag ? doc.flag.none : ""})`;
    const limited = Object.hasOwn(PATH_SETTINGS, key)
      ? ` Limited by the binary's permission set: it may use only ${allowedDirectories()} and ` +
        "what is under them (elsewhere: exit 78)."
      : "";
    const text = `**\`${key}\`** (default: ${fallback}; ${flagText}): ${doc.meaning}.${limited}`;
    return `- ${text}`; // deno fmt wraps it
  }).join("\n");
}

/** The spool, state and runtime directories the permission set allows (each default's). */
function allowedDirectories(): string {
  const read = PERMISSION_SET.read as string[];
  const write = PERMISSION_SET.write as string[];
  return Object.keys(PATH_SETTINGS).map((key) => DEFAULTS[key as keyof typeof PATH_SETTINGS])
    .filter((path) => read.includes(path) && write.includes(path))
    .map((path) => `\`${path}\``).join(", ");
}

/** README.md with the list between the markers replaced by `list`. */
export function withKeys(readme: string, list: string): string {
  const start = readme.indexOf(MARKERS[0]);
  const end = readme.indexOf(MARKERS[1]);
  if (start < 0 || end < start) {
    throw new Error(`README.md lacks the markers ${MARKERS.join(" … ")}`);
  }
  return `${readme.slice(0, start + MARKERS[0].length)}\n\n${list}\n\n${readme.slice(end)}`;
}

if (import.meta.main) {
  const path = new URL("../README.md", import.meta.url);
  await Deno.writeTextFile(path, withKeys(await Deno.readTextFile(path), configKeys()));
  console.log("README.md: config keys written");
}
