/**
 * Reading the config file (I/O).
 *
 * @module
 */

import { type Config, parseConfigFile, resolveConfig, type Settings } from "./config.ts";
import { configError, messageOf, TattleError } from "../util/errors.ts";
import { assertPathReachable, assertReachable } from "./reach.ts";
import { assertTrusted } from "./trust.ts";

/** Reads a file's text; `Deno.readTextFile` in production. */
export type ReadTextFile = (path: string) => Promise<string>;

/**
 * Loads the config file and merges it with the flags. A missing file is the
 * defaults only when it is the default path; a file named with `--config`
 * must exist.
 *
 * @throws {TattleError} exit 78 naming the file and the problem.
 */
export async function loadConfig(
  path: string,
  explicit: boolean,
  flags: Settings,
  readTextFile: ReadTextFile = Deno.readTextFile,
  trust: (path: string, what: string) => Promise<void> = assertTrusted,
): Promise<Config> {
  let file: Settings = {};
  await assertPathReachable("config file", path, ["read"]);
  try {
    const [text] = await Promise.all([readTextFile(path), trust(path, "config file")]);
    file = parseConfigFile(text, path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound && !explicit) {
      file = {};
    } else if (error instanceof Deno.errors.NotFound) {
      throw configError(`config file ${path} does not exist`);
    } else if (error instanceof TattleError) {
      throw error;
    } else {
      throw configError(`config file ${path} cannot be read: ${messageOf(error)}`);
    }
  }
  const config = resolveConfig(file, flags, path);
  await assertReachable(config);
  return config;
}
