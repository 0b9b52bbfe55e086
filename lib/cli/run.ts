/**
 * Running a command: what every command needs happens here, in one place.
 *
 * - Only the command's own options are taken (plus `--config` and the
 *   settings' flags when it reads the config): anything else exits 64 with
 *   its usage.
 * - The config is loaded at most once, when the command asks: the file,
 *   the flags (which win), the trust check of the file, and the SDK settings
 *   that follow from it.
 * - A failure is one line on stderr, `tattle: error: …`, with a sysexits
 *   code; stack traces only with `--debug`. Every line reported is also
 *   sent to syslog.
 *
 * The hook's own first step, reading the PAM environment and removing
 * everything else, is the first line of the login flow (main.ts): nothing
 * here creates a Date or a network client before it.
 *
 * @module
 */

import { sdkEnvironment } from "../aws/sdk_env.ts";
import {
  type Config,
  DEFAULT_CONFIG_PATH,
  DEFAULTS,
  shadowedDetailKeys,
} from "../config/config.ts";
import { loadConfig } from "../config/file.ts";
import { syslogBindDir } from "../config/paths.ts";
import { EXIT, type ExitCode, usageError } from "../util/errors.ts";
import { ArgsError, type OptionSpecs, type OptionValues, parseOptions } from "./args.ts";
import { type Command, type CommandContext, COMMON_OPTIONS } from "./command.ts";
import { COMMANDS } from "./commands.ts";
import { reportError, stderrLine } from "./report.ts";
import { CONFIG_OPTION, flagsOf, SETTINGS_OPTIONS, settingsFromFlags } from "./settings_flags.ts";
import { VERSION } from "./version.ts";

/** The help texts, loaded when asked for (or for a usage error): no login needs them. */
const help = () => import("./help.ts");

/** Runs tattle with `argv`: `hook` (the login flow) unless `argv` names another command. */
export async function runCli(argv: string[], hook: Command): Promise<ExitCode> {
  const startedAt = performance.now();
  const logged: string[] = [];
  let config: Config | undefined;
  const log = (line: string) => {
    stderrLine(`tattle: ${line}`);
    logged.push(line);
  };
  try {
    const [first] = argv;
    if (first === "--version") return print(`tattle ${VERSION}`);
    if (first === "--help" || first === "-h") {
      return print((await help()).toolHelp(await allCommands(hook)));
    }
    const named = first !== undefined && !first.startsWith("-");
    const command = named ? await commandNamed(first, hook) : hook;
    const options = optionsOf(command);
    let values: OptionValues<OptionSpecs>;
    try {
      const parsed = parseOptions(argv.slice(named ? 1 : 0), options);
      if (parsed.positionals.length > 0) {
        throw new ArgsError(`unexpected argument "${parsed.positionals[0]}"`);
      }
      values = parsed.values;
    } catch (error) {
      if (!(error instanceof ArgsError)) throw error;
      throw usageError(`${error.message}; ${(await help()).usageLine(command)}`);
    }
    if (values.help) return print((await help()).commandHelp(command));
    const settings = command.settings ? settingsFromFlags(values) : {};
    const configPath = (values.config as string | undefined) ?? DEFAULT_CONFIG_PATH;
    const configExplicit = values.config !== undefined;
    const context: CommandContext = {
      argv,
      values,
      settings,
      configPath,
      configExplicit,
      settingsArgs: ["--config", configPath, ...flagsOf(settings)],
      config: async () => {
        if (!config) {
          config = await loadConfig(configPath, configExplicit, settings);
          for (const key of shadowedDetailKeys(config)) {
            log(
              `warning: extra_detail "${key}" in ${configPath} is left out of events: tattle sets ` +
                "that Detail field itself; rename the key",
            );
          }
          for (const [name, value] of Object.entries(sdkEnvironment(config))) {
            Deno.env.set(name, value);
          }
        }
        return config;
      },
      startedAt,
      log,
      print: (text) => void print(text),
    };
    return await command.run(context);
  } catch (error) {
    return reportError(error, argv.includes("--debug"), (line) => {
      stderrLine(line);
      if (line.startsWith("tattle: ")) logged.push(line.slice("tattle: ".length));
    });
  } finally {
    if (logged.length > 0) {
      // Loaded only when something is to be logged: a login that goes well logs nothing.
      const { sendSyslog } = await import("./syslog.ts");
      const settings = config ?? DEFAULTS;
      const problem = await sendSyslog(
        settings.syslog_socket,
        syslogBindDir(settings, Deno.uid()),
        logged,
      );
      if (problem) stderrLine(`tattle: warning: ${problem}`);
    }
  }
}

/** Every option a command takes. */
function optionsOf(command: Command): OptionSpecs {
  const settings = command.settings ? { ...CONFIG_OPTION, ...SETTINGS_OPTIONS } : {};
  return { ...command.options, ...settings, ...COMMON_OPTIONS };
}

async function commandNamed(name: string, hook: Command): Promise<Command> {
  if (name === hook.name) return hook;
  if (!Object.hasOwn(COMMANDS, name)) {
    throw usageError(`unknown command "${name}" (see tattle --help)`);
  }
  return await COMMANDS[name]();
}

/** The hook and every subcommand, in the order help lists them. */
export async function allCommands(hook: Command): Promise<Command[]> {
  return [hook, ...await Promise.all(Object.values(COMMANDS).map((load) => load()))];
}

function print(text: string): typeof EXIT.OK {
  Deno.stdout.writeSync(new TextEncoder().encode(`${text}\n`));
  return EXIT.OK;
}
