/**
 * `deno task docs`: writes the README's config table from the settings'
 * declaration (lib/config/settings.ts), between its two markers. A test
 * checks that the README holds exactly this table.
 *
 * @module
 */

import { SETTING_KEYS } from "../lib/config/config.ts";
import { DEFAULTS, flagOf, SETTING_DOCS } from "../lib/config/settings.ts";

/** The markers around the table in README.md. */
export const MARKERS = ["<!-- config table: deno task docs -->", "<!-- end of config table -->"];

/** The config table, in Markdown. */
export function configTable(): string {
  const rows = SETTING_KEYS.map((key) => {
    const doc = SETTING_DOCS[key];
    const value = (DEFAULTS as Record<string, unknown>)[key];
    const fallback = doc.defaultText ??
      (value === undefined ? "—" : `\`${JSON.stringify(value)}\``);
    const flag = flagOf(key);
    const flagText = flag
      ? `\`--${flag.name}\`${flag.kind === "list" ? " (repeatable)" : ""}`
      : `none: ${("none" in doc.flag) ? doc.flag.none : ""}`;
    return [`\`${key}\``, fallback, flagText, doc.meaning];
  });
  const header = ["key", "default", "flag", "meaning"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [line(header), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...rows.map(line)]
    .join("\n");
}

/** README.md with the table between the markers replaced by `table`. */
export function withTable(readme: string, table: string): string {
  const start = readme.indexOf(MARKERS[0]);
  const end = readme.indexOf(MARKERS[1]);
  if (start < 0 || end < start) {
    throw new Error(`README.md lacks the markers ${MARKERS.join(" … ")}`);
  }
  return `${readme.slice(0, start + MARKERS[0].length)}\n\n${table}\n\n${readme.slice(end)}`;
}

if (import.meta.main) {
  const path = new URL("../README.md", import.meta.url);
  await Deno.writeTextFile(path, withTable(await Deno.readTextFile(path), configTable()));
  console.log("README.md: config table written");
}
