/**
 * tattle's settings: defaults, the JSON config file and command-line flags,
 * validated by one schema (pure).
 *
 * @module
 */

import { configError, usageError } from "./errors.ts";
import { RESERVED_DETAIL_FIELDS } from "./event.ts";

/** Where the config file is read from when `--config` is not given. */
export const DEFAULT_CONFIG_PATH = "/etc/tattle/config.json";

/** How to run outside EC2, for messages about IMDS failures. */
export const OUTSIDE_EC2_HINT =
  'outside EC2 set "identity": "none" and "region" in the config (or pass --identity none --region REGION)';

/** One line for an IMDS failure, with how to run outside EC2. */
export function imdsFailure(endpoint: string, what: string): string {
  return `IMDS at ${endpoint} ${what}; ${OUTSIDE_EC2_HINT}`;
}

/** Every setting, resolved. */
export interface Config {
  source: string;
  detail_type: string;
  event_bus?: string;
  region?: string;
  endpoint_url?: string;
  /** PEM file of the CA that signs `endpoint_url`'s certificate, besides the public roots. */
  ca_bundle?: string;
  imds_endpoint: string;
  identity: "imds" | "none";
  resources: string[];
  timeout: number;
  extra_detail: Record<string, string>;
  mode: "background" | "inline";
  spool_dir: string;
  spool_max_events: number;
  state_dir: string;
  /** Honour AWS_* and proxy variables in the PAM environment (off: users can set them). */
  trust_environment: boolean;
  /** The AWS shared-config profile for credentials. */
  profile?: string;
  /** Where failures are logged (authpriv); nothing is logged when it does not exist. */
  syslog_socket: string;
}

/** Settings as given by one origin (file or flags), not yet merged. */
export type Settings = Partial<Config>;

/** The value of each setting that neither the file nor a flag sets. */
export const DEFAULTS: Readonly<Config> = {
  source: "com.unbounce.tattle",
  detail_type: "SSH connection event detected",
  imds_endpoint: "http://169.254.169.254",
  identity: "imds",
  resources: [],
  timeout: 2,
  extra_detail: {},
  mode: "background",
  spool_dir: "/var/spool/tattle",
  spool_max_events: 10000,
  state_dir: "/run/tattle",
  trust_environment: false,
  syslog_socket: "/dev/log",
};

/** Checks one value; returns it (possibly normalized) or throws the problem as a string. */
type Check = (value: unknown) => unknown;

const text = (max: number): Check => (value) => {
  if (typeof value !== "string") throw "must be a string";
  if (value.length === 0 || value.length > max) throw `must be 1 to ${max} characters`;
  return value;
};

const url: Check = (value) => {
  text(2048)(value);
  let parsed: URL;
  try {
    parsed = new URL(value as string);
  } catch {
    throw "must be an http:// or https:// URL";
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw "must be an http:// or https:// URL";
  }
  return (value as string).replace(/\/+$/, "");
};

const absolutePath: Check = (value) => {
  text(1024)(value);
  const path = value as string;
  if (!path.startsWith("/") || path.split("/").includes("..")) {
    throw "must be an absolute path without ..";
  }
  return path.length > 1 ? path.replace(/\/+$/, "") : path;
};

const REGION = /^[a-z]{2,4}(-[a-z]+)+-\d{1,2}$/;

const SCHEMA: Record<keyof Config, Check> = {
  source: text(256),
  detail_type: text(128),
  event_bus: text(1600),
  region: (value) => {
    if (typeof value !== "string" || !REGION.test(value)) {
      throw "must be an AWS region like us-east-1";
    }
    return value;
  },
  endpoint_url: url,
  ca_bundle: absolutePath,
  imds_endpoint: url,
  identity: (value) => {
    if (value !== "imds" && value !== "none") throw 'must be "imds" or "none"';
    return value;
  },
  resources: (value) => {
    if (!Array.isArray(value) || value.some((r) => typeof r !== "string" || r.length === 0)) {
      throw "must be a list of non-empty strings";
    }
    if (value.length > 10) throw "must have at most 10 entries";
    return value;
  },
  timeout: (value) => {
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0 || value > 60) {
      throw "must be a number of seconds greater than 0 and at most 60";
    }
    return value;
  },
  mode: (value) => {
    if (value !== "background" && value !== "inline") throw 'must be "background" or "inline"';
    return value;
  },
  spool_dir: absolutePath,
  spool_max_events: (value) => {
    if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 1_000_000) {
      throw "must be a whole number from 1 to 1000000";
    }
    return value;
  },
  state_dir: absolutePath,
  trust_environment: (value) => {
    if (typeof value !== "boolean") throw "must be true or false";
    return value;
  },
  profile: (value) => {
    if (typeof value !== "string" || !/^[A-Za-z0-9_.+=,@-]{1,64}$/.test(value)) {
      throw "must be a profile name";
    }
    return value;
  },
  syslog_socket: absolutePath,
  extra_detail: (value) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw "must be an object whose values are strings";
    }
    const entries = Object.entries(value);
    for (const [key, item] of entries) {
      if (typeof item !== "string") throw `"${key}" must be a string`;
      if (RESERVED_DETAIL_FIELDS.includes(key)) throw `"${key}" is a field tattle sets itself`;
    }
    if (JSON.stringify(value).length > 8192) throw "must be at most 8 KiB as JSON";
    return value;
  },
};

/** Whether `key` names a setting. */
function isSettingKey(key: string): key is keyof Config {
  return Object.hasOwn(SCHEMA, key);
}

/**
 * Parses and validates the config file's text.
 *
 * @throws {TattleError} exit 78 naming the file, the key and the problem.
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
  const settings: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (!isSettingKey(key)) {
      throw configError(`config file ${path}: unknown key "${key}"`);
    }
    try {
      settings[key] = SCHEMA[key](value);
    } catch (problem) {
      throw configError(`config file ${path}: "${key}" ${problem}`);
    }
  }
  return settings as Settings;
}

/**
 * Validates settings given as flags (`--detail-type` for `detail_type`).
 *
 * @throws {TattleError} exit 64 naming the flag and the problem.
 */
export function checkFlagSettings(flags: Record<string, unknown>): Settings {
  const settings: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(flags)) {
    if (value === undefined) continue;
    if (!isSettingKey(key)) throw new Error(`no setting named ${key}`);
    try {
      settings[key] = SCHEMA[key](value);
    } catch (problem) {
      throw usageError(`--${key.replaceAll("_", "-")} ${problem}`);
    }
  }
  return settings as Settings;
}

/**
 * Merges defaults, the file and the flags (flags win) and checks the
 * settings that depend on each other.
 *
 * @throws {TattleError} exit 78 when the merged settings are incomplete.
 */
export function resolveConfig(file: Settings, flags: Settings, path: string): Config {
  const config: Config = { ...DEFAULTS, ...file, ...flags };
  if (config.identity === "none" && !config.region) {
    throw configError(
      `identity "none" needs a region: set "region" in ${path} or pass --region`,
    );
  }
  return config;
}
