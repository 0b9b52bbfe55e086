/**
 * Command-line options, declared by each command (pure).
 *
 * Small on purpose: `node:util`'s parseArgs cost every login about 5 ms of
 * start-up, and tattle needs `--name VALUE`, `--name=VALUE`, repeatable
 * options, switches, `-h` and `--`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseOptions } from "./args.ts";
 * const { values } = parseOptions(["--root=/mnt", "--pam"], {
 *   root: { kind: "string", value: "DIR", help: "install under DIR" },
 *   pam: { kind: "boolean", help: "add the PAM line" },
 * });
 * assert.deepEqual(values, { root: "/mnt", pam: true });
 * assert.throws(() => parseOptions(["--frobnicate"], {}), /unknown option --frobnicate/);
 * ```
 *
 * @module
 */

/** How an option takes its value. */
export type OptionKind = "string" | "boolean" | "list";

/** One option a command takes. */
export interface OptionSpec {
  kind: OptionKind;
  /** The value's name in help (`PATH`, `SECONDS`). */
  value?: string;
  help: string;
  /** A one-letter alias (`h` for `-h`). */
  short?: string;
}

/** A command's options, by long name. */
export type OptionSpecs = Record<string, OptionSpec>;

/** Parsed values, typed by the specs. */
export type OptionValues<O extends OptionSpecs> = {
  [K in keyof O]?: O[K]["kind"] extends "boolean" ? boolean
    : O[K]["kind"] extends "list" ? string[]
    : string;
};

/** A command line that does not fit the command's options. */
export class ArgsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ArgsError";
  }
}

/**
 * Parses `argv` against `specs`.
 *
 * @throws {ArgsError} for an unknown option, a missing or unexpected value.
 */
export function parseOptions<O extends OptionSpecs>(
  argv: readonly string[],
  specs: O,
): { values: OptionValues<O>; positionals: string[] } {
  const values: Record<string, string | boolean | string[]> = {};
  const positionals: string[] = [];
  const byShort = new Map(
    Object.entries(specs).flatMap(([name, s]) => s.short ? [[s.short, name] as const] : []),
  );
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    const long = arg.startsWith("--");
    const eq = arg.indexOf("=");
    const key = long ? arg.slice(2, eq < 0 ? undefined : eq) : byShort.get(arg.slice(1)) ?? "";
    const spec = Object.hasOwn(specs, key) ? specs[key] : undefined;
    if (!spec || (!long && arg.length !== 2)) throw new ArgsError(`unknown option ${arg}`);
    if (spec.kind === "boolean") {
      if (eq >= 0) throw new ArgsError(`option --${key} takes no value`);
      values[key] = true;
      continue;
    }
    let value: string;
    if (long && eq >= 0) {
      value = arg.slice(eq + 1);
    } else if (i + 1 < argv.length) {
      value = argv[++i];
    } else {
      throw new ArgsError(`option --${key} needs a value`);
    }
    if (spec.kind === "list") values[key] = [...(values[key] as string[] ?? []), value];
    else values[key] = value;
  }
  return { values: values as OptionValues<O>, positionals };
}

/** Help lines for `specs`, aligned, each no wider than `lineWidth` (words allowing). */
export function formatOptions(specs: OptionSpecs, lineWidth = Infinity): string {
  const rows = Object.entries(specs).map(([name, spec]) => {
    const short = spec.short ? `-${spec.short}, ` : "";
    const value = spec.value ? ` ${spec.value}` : "";
    const repeat = spec.kind === "list" ? " (repeatable)" : "";
    return [`  ${short}--${name}${value}`, `${spec.help}${repeat}`];
  });
  const width = Math.min(30, Math.max(...rows.map(([left]) => left.length)) + 2);
  const pad = " ".repeat(width);
  const column = (text: string) => {
    const lines: string[] = [];
    let line = "";
    for (const word of text.split(" ")) {
      if (line !== "" && width + line.length + 1 + word.length > lineWidth) {
        lines.push(line);
        line = word;
      } else {
        line = line === "" ? word : `${line} ${word}`;
      }
    }
    return [...lines, line].join(`\n${pad}`);
  };
  return rows.map(([left, right]) =>
    left.length + 1 >= width
      ? `${left}\n${pad}${column(right)}`
      : left.padEnd(width) + column(right)
  ).join("\n");
}
