/**
 * The command line: one subcommand (the PAM hook by default) and flags that
 * mirror the config file's keys (pure).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { checkFlagSettings, DEFAULT_CONFIG_PATH, type Settings } from "./config.ts";
import { usageError } from "./errors.ts";

/** The subcommands; `hook` is what pam_exec runs. */
export const COMMANDS = ["hook", "flush", "setup", "doctor"] as const;

/** One of {@link COMMANDS}. */
export type Command = typeof COMMANDS[number];

/** A parsed command line. */
export interface CliArgs {
  command: Command;
  /** The config file to read. */
  configPath: string;
  /** Whether `--config` named it (then it must exist). */
  configExplicit: boolean;
  /** The arguments without the command, for passing on to the detached sender. */
  options: string[];
  /** Settings given as flags; they win over the file. */
  settings: Settings;
  dryRun: boolean;
  /** `setup`: the directory to install under ("/" on a host). */
  root: string;
  /** `setup`: also add the PAM line. */
  pam: boolean;
  /** `setup`: remove what setup added. */
  uninstall: boolean;
  /** `setup --pam`: set pam_env's user_readenv=1 to 0 in the sshd PAM file. */
  disableUserReadenv: boolean;
  /** `doctor`: also send one test event. */
  sendTest: boolean;
  debug: boolean;
  version: boolean;
  help: boolean;
}

const OPTIONS = {
  config: { type: "string" },
  source: { type: "string" },
  "detail-type": { type: "string" },
  "event-bus": { type: "string" },
  region: { type: "string" },
  "endpoint-url": { type: "string" },
  "imds-endpoint": { type: "string" },
  identity: { type: "string" },
  resource: { type: "string", multiple: true },
  timeout: { type: "string" },
  mode: { type: "string" },
  "spool-dir": { type: "string" },
  "dry-run": { type: "boolean" },
  root: { type: "string" },
  pam: { type: "boolean" },
  uninstall: { type: "boolean" },
  "disable-user-readenv": { type: "boolean" },
  "send-test": { type: "boolean" },
  debug: { type: "boolean" },
  version: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** Usage text for `--help`. */
export const USAGE = `Usage: tattle [COMMAND] [OPTIONS]

Publishes an SSH session event to Amazon EventBridge. Run by PAM:
  session optional pam_exec.so /usr/local/bin/tattle --config /etc/tattle/config.json

Commands:
  hook                    (default) report the PAM session in the environment
  flush                   send the spooled events, oldest first
  setup [--pam [--disable-user-readenv]] [--uninstall] [--root DIR]
                          create the config and spool; --pam adds the sshd PAM line
  doctor [--send-test] [--root DIR]
                          check the PAM stack, config, identity, credentials and EventBridge

Options (each overrides the config file key of the same name):
  --config PATH           config file (default ${DEFAULT_CONFIG_PATH})
  --source TEXT           event Source (source)
  --detail-type TEXT      event DetailType (detail_type)
  --event-bus NAME|ARN    event bus (event_bus)
  --region REGION         AWS region (region)
  --endpoint-url URL      EventBridge endpoint (endpoint_url)
  --imds-endpoint URL     instance metadata endpoint (imds_endpoint)
  --identity imds|none    where the host identity comes from (identity)
  --resource ARN          event resource when identity is none, repeatable (resources)
  --timeout SECONDS       total time budget of one run (timeout)
  --mode background|inline  deliver from a detached sender, or before exiting (mode)
  --spool-dir DIR         where undelivered events wait (spool_dir)
  --dry-run               print the PutEvents entry instead of sending it
  --debug                 print stack traces with errors
  --version               print the version
  -h, --help              print this help

Exit codes: 0 delivered or queued, 64 usage, 69 unavailable, 70 internal error,
75 spooled for later delivery, 78 configuration.`;

/**
 * Parses the command line.
 *
 * @throws {TattleError} exit 64 for unknown flags, commands or bad values.
 */
export function parseCli(argv: string[]): CliArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
      tokens: true,
    });
  } catch (error) {
    throw usageError(`${(error as Error).message} (see tattle --help)`);
  }
  const { values, positionals, tokens } = parsed;
  const commandIndex = tokens.find((t) => t.kind === "positional")?.index;
  const [command = "hook", ...extra] = positionals;
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw usageError(`unknown command "${command}" (see tattle --help)`);
  }
  if (extra.length > 0) throw usageError(`unexpected argument "${extra[0]}" (see tattle --help)`);
  return {
    command: command as Command,
    options: argv.filter((_, i) => i !== commandIndex),
    configPath: values.config ?? DEFAULT_CONFIG_PATH,
    configExplicit: values.config !== undefined,
    settings: checkFlagSettings({
      source: values.source,
      detail_type: values["detail-type"],
      event_bus: values["event-bus"],
      region: values.region,
      endpoint_url: values["endpoint-url"],
      imds_endpoint: values["imds-endpoint"],
      identity: values.identity,
      resources: values.resource,
      timeout: values.timeout === undefined ? undefined : Number(values.timeout),
      mode: values.mode,
      spool_dir: values["spool-dir"],
    }),
    dryRun: values["dry-run"] ?? false,
    root: values.root ?? "/",
    pam: values.pam ?? false,
    uninstall: values.uninstall ?? false,
    disableUserReadenv: values["disable-user-readenv"] ?? false,
    sendTest: values["send-test"] ?? false,
    debug: values.debug ?? false,
    version: values.version ?? false,
    help: values.help ?? false,
  };
}
