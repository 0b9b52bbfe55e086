/**
 * The settings' flags, generated from their declaration (pure): `--config`
 * and one flag per setting, named after the key (`--detail-type` for
 * `detail_type`).
 *
 * @module
 */

import { checkFlagSettings, DEFAULT_CONFIG_PATH, SETTING_KEYS } from "../config/config.ts";
import { flagOf, SETTING_DOCS, type Settings } from "../config/settings.ts";
import type { OptionSpec, OptionSpecs, OptionValues } from "./args.ts";

/** `--config`, taken by every command that reads the config. */
export const CONFIG_OPTION = {
  config: { kind: "string", value: "PATH", help: `config file (default ${DEFAULT_CONFIG_PATH})` },
} as const satisfies OptionSpecs;

/** One flag per setting that has one. */
export const SETTINGS_OPTIONS: OptionSpecs = Object.fromEntries(
  SETTING_KEYS.flatMap((key) => {
    const flag = flagOf(key);
    if (!flag) return [];
    const spec: OptionSpec = {
      kind: flag.kind === "switch" ? "boolean" : flag.kind === "list" ? "list" : "string",
      value: flag.kind === "number" ? "NUMBER" : flag.kind === "switch" ? undefined : "VALUE",
      help: `${SETTING_DOCS[key].meaning.replace(/`/g, "")} (${key})`,
    };
    return [[flag.name, spec]];
  }),
);

/**
 * The settings the flags give, checked like the file's.
 *
 * @throws {TattleError} exit 64 naming the flag and the problem.
 */
export function settingsFromFlags(values: OptionValues<OptionSpecs>): Settings {
  const settings: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) {
    const flag = flagOf(key);
    const value = flag === undefined ? undefined : values[flag.name];
    if (flag === undefined || value === undefined) continue;
    settings[key] = flag.kind === "number" ? numberOrText(value as string) : value;
  }
  return checkFlagSettings(settings as Settings);
}

/**
 * The flags that give `settings`, for a process this one starts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { flagsOf } from "./settings_flags.ts";
 * assert.deepEqual(flagsOf({ detail_type: "login", resources: ["a", "b"], trust_environment: true }), [
 *   "--detail-type=login",
 *   "--resource=a",
 *   "--resource=b",
 *   "--trust-environment",
 * ]);
 * ```
 */
export function flagsOf(settings: Settings): string[] {
  return SETTING_KEYS.flatMap((key) => {
    const flag = flagOf(key);
    const value = settings[key];
    if (!flag || value === undefined) return [];
    if (flag.kind === "switch") return value ? [`--${flag.name}`] : [];
    if (Array.isArray(value)) return value.map((v) => `--${flag.name}=${v}`);
    return [`--${flag.name}=${value}`];
  });
}

/** A number when the text is one; otherwise the text, for the shape to refuse by name. */
function numberOrText(text: string): number | string {
  const number = Number(text);
  return text.trim() !== "" && Number.isFinite(number) ? number : text;
}
