/**
 * Turning the config file's text and the command line's flags into one
 * {@link Config} (pure). What each key accepts is declared in
 * `settings.ts`.
 *
 * @module
 */

import { RESERVED_DETAIL_FIELDS } from "../event/detail.ts";
import { configError, usageError } from "../util/errors.ts";
import { type Shape, ShapeError } from "../util/shape.ts";
import {
  type Config,
  DEFAULTS,
  flagOf,
  SETTING_DOCS,
  SETTINGS,
  type Settings,
} from "./settings.ts";

export { type Config, DEFAULT_CONFIG_PATH, DEFAULTS, type Settings } from "./settings.ts";

/**
 * Parses and validates the config file's text.
 *
 * @throws {TattleError} exit 78 naming the file, the key and the problem.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfigFile } from "./config.ts";
 * assert.equal(parseConfigFile('{"timeout": 5}', "/etc/tattle/config.json").timeout, 5);
 * assert.throws(
 *   () => parseConfigFile('{"timeout": "soon"}', "/etc/tattle/config.json"),
 *   /config file \/etc\/tattle\/config.json: "timeout" must be a number/,
 * );
 * ```
 */
export function parseConfigFile(text: string, path: string): Settings {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw configError(`config file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw configError(`config file ${path} must contain a JSON object`);
  }
  try {
    return SETTINGS.parse(raw);
  } catch (error) {
    if (!(error instanceof ShapeError)) throw error;
    // The key is the path up to the first list index or free-form object's key
    // (`resources[0]`, `extra_detail.a`); a nested setting's own keys are part of it.
    const key = error.path.split("[")[0].split(".").slice(0, isNested(error.path) ? 2 : 1)
      .join(".");
    const where = key !== error.path ? ` (at ${error.path})` : "";
    const problem = error.problem === "is not a known key"
      ? `unknown key "${error.path}"`
      : `"${key}" ${error.problem}${where}`;
    throw configError(`config file ${path}: ${problem}`);
  }
}

/** Whether the path is inside a setting declared with keys of its own (`ignore.users`). */
function isNested(path: string): boolean {
  const setting: Shape<unknown> | undefined =
    (SETTINGS.properties as Record<string, Shape<unknown>>)[path.split(/[.[]/)[0]];
  const shape = setting && "inner" in setting ? setting.inner as Shape<unknown> : setting;
  return shape !== undefined && "properties" in shape;
}

/**
 * Validates settings given as flags (`detail_type` from `--detail-type`).
 *
 * @throws {TattleError} exit 64 naming the flag and the problem.
 */
export function checkFlagSettings(flags: Settings): Settings {
  try {
    return SETTINGS.parse(flags);
  } catch (error) {
    if (!(error instanceof ShapeError)) throw error;
    const key = error.path.split(/[.[]/)[0] as keyof Settings;
    const flag = flagOf(key)?.name ?? key;
    throw usageError(`--${flag} ${error.problem}`);
  }
}

/**
 * Merges defaults, the file and the flags (flags win) and checks the
 * settings that depend on each other.
 *
 * @throws {TattleError} exit 78 when the merged settings are incomplete.
 */
export function resolveConfig(file: Settings, flags: Settings, path: string): Config {
  const config = { ...DEFAULTS, ...file, ...flags } as Config;
  if (config.identity === "none" && !config.region) {
    throw configError(
      `identity "none" needs a region: set "region" in ${path} or pass --region`,
    );
  }
  return config;
}

/**
 * The `extra_detail` keys the event leaves out, because tattle sets those
 * Detail fields itself (a key that a newer version made its own).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shadowedDetailKeys } from "./config.ts";
 * assert.deepEqual(shadowedDetailKeys({ extra_detail: { team: "sec", uid: "7" } }), ["uid"]);
 * ```
 */
export function shadowedDetailKeys(config: Pick<Config, "extra_detail">): string[] {
  return Object.keys(config.extra_detail).filter((key) => RESERVED_DETAIL_FIELDS.includes(key));
}

/** The keys documented in the README's config table, in its order. */
export const SETTING_KEYS = Object.keys(SETTING_DOCS) as Array<keyof Settings>;
