/**
 * tattle: reports SSH session opens and closes from PAM to Amazon EventBridge.
 *
 * The hook's data flows one way:
 * PAM env → session → event capture (identity from cache) → spool → publish,
 * by a detached sender (background mode) or before exiting (inline mode).
 *
 * @module
 */

import { type CliArgs, parseCli, USAGE } from "./lib/args.ts";
import { captureEvent, thisHost } from "./lib/capture.ts";
import { type Config, DEFAULTS } from "./lib/config.ts";
import { loadConfig } from "./lib/config_file.ts";
import { deadlineAt, deadlineIn } from "./lib/deadline.ts";
import { deliver, flushDeps } from "./lib/deliver.ts";
import { type HookEnvironment, takeHookEnvironment } from "./lib/env.ts";
import { EXIT, type ExitCode } from "./lib/errors.ts";
import { flushSpool } from "./lib/flush.ts";
import { resolveIdentity } from "./lib/identity.ts";
import { readSession, withTamper } from "./lib/pam.ts";
import { entryFor } from "./lib/record.ts";
import { reportError, stderrLine } from "./lib/report.ts";
import { isScriptMode } from "./lib/sender.ts";
import { sdkEnvironment } from "./lib/send.ts";
import { sendSyslog } from "./lib/syslog.ts";
import { cleanStaleSessions, processLiveness } from "./lib/sessions.ts";
import { prepareSpool } from "./lib/spool.ts";
import { assertTrusted } from "./lib/trust.ts";
import { RUNTIME_SET_VARIABLES, SCRIPT_MODE_VARIABLES } from "./lib/variables.ts";
import { VERSION } from "./lib/version.ts";

/** How long past its timeout the hook may run before the watchdog ends it. */
const WATCHDOG_GRACE_S = 1;

/** The least time `tattle flush` gets, whatever the hook's timeout. */
const FLUSH_BUDGET_S = 30;

/** Runs tattle with `argv` and returns its exit code. */
export async function main(argv: string[]): Promise<ExitCode> {
  // Date.now(), not new Date(): the first Date object makes V8 read TZ, which
  // the hook removes first (a user may point it at a FIFO).
  const startedAt = Date.now();
  const logged: string[] = [];
  const log = (line: string) => {
    stderrLine(`tattle: ${line}`);
    logged.push(line);
  };
  let config: Config | undefined;
  try {
    const args = parseCli(argv);
    if (args.help) return print(USAGE);
    if (args.version) return print(`tattle ${VERSION}`);
    if (args.command === "setup") return await runSetup(args);
    if (args.command === "doctor") {
      // Operator commands are imported on use: the login path never loads them.
      const { doctor } = await import("./lib/doctor.ts");
      return await doctor({
        configPath: args.configPath,
        configExplicit: args.configExplicit,
        flags: args.settings,
        sendTest: args.sendTest,
        root: args.root,
        print,
      });
    }
    if (args.command === "flush") {
      config = await loadConfig(args.configPath, args.configExplicit, args.settings);
      for (const [name, value] of Object.entries(sdkEnvironment(config))) Deno.env.set(name, value);
      return await flush(config, log);
    }
    // The hook's environment is the PAM environment, which users can fill:
    // read pam_exec's own items first, then keep nothing else.
    const environment = takeHookEnvironment(expectedRuntimeVariables());
    config = await loadConfig(args.configPath, args.configExplicit, args.settings);
    if (config.trust_environment) {
      for (const [name, value] of Object.entries(environment.aws)) Deno.env.set(name, value);
    }
    for (const [name, value] of Object.entries(sdkEnvironment(config))) Deno.env.set(name, value);
    return await hook(args, config, new Date(startedAt), log, environment);
  } catch (error) {
    return reportError(error, argv.includes("--debug"), (line) => {
      stderrLine(line);
      if (line.startsWith("tattle: ")) logged.push(line.slice("tattle: ".length));
    });
  } finally {
    const { syslog_socket, state_dir } = config ?? DEFAULTS;
    await sendSyslog(syslog_socket, state_dir, logged);
  }
}

/** The PAM hook: capture the session, then deliver or print it. */
async function hook(
  args: CliArgs,
  config: Config,
  time: Date,
  log: (line: string) => void,
  environment: HookEnvironment,
): Promise<ExitCode> {
  // The budget counts from when PAM called tattle, not from when config was read.
  const deadline = deadlineAt(time.getTime() + config.timeout * 1000);
  // Every step already honours the deadline; this is the backstop against a
  // bug, since pam_exec waits for tattle with no timeout.
  Deno.unrefTimer(setTimeout(() => {
    stderrLine(
      `tattle: error: internal error: still running ${WATCHDOG_GRACE_S} s after the timeout`,
    );
    Deno.exit(EXIT.SOFTWARE);
  }, config.timeout * 1000 + WATCHDOG_GRACE_S * 1000));
  const session = withTamper(readSession(environment.read), environment.tamper);
  const record = await captureEvent(session, config, time, thisHost(), log);
  if (args.dryRun) {
    const identity = record.identity ?? await resolveIdentity(config, deadline);
    return print(JSON.stringify(await entryFor(record, identity, config, VERSION)));
  }
  // Run by hand from a terminal, show the real outcome rather than a silent 0.
  const mode = Deno.stderr.isTerminal() ? "inline" : config.mode;
  return await deliver(record, {
    config,
    configPath: args.configPath,
    options: args.options,
    deadline,
    mode,
    log,
  });
}

/** `tattle flush`: send the spool, print a one-line summary. */
async function flush(config: Config, log: (line: string) => void): Promise<ExitCode> {
  const deadline = deadlineIn(Math.max(config.timeout, FLUSH_BUDGET_S) * 1000);
  await prepareSpool(config.spool_dir);
  await assertTrusted(config.spool_dir, "spool directory");
  const stale = await cleanStaleSessions(config.state_dir, await processLiveness());
  for (const problem of stale.problems) log(`stale session record not removed: ${problem}`);
  const summary = await flushSpool(
    config.spool_dir,
    config,
    deadline,
    flushDeps({ config, log }),
  );
  if (summary.kept > 0 && summary.lastError) {
    log(`${summary.kept} event(s) kept in ${config.spool_dir}: ${summary.lastError}`);
  }
  print(`tattle flush: sent ${summary.sent}, kept ${summary.kept}, failed ${summary.failed}`);
  if (summary.kept > 0) return EXIT.TEMPFAIL;
  return summary.failed > 0 ? EXIT.DATAERR : EXIT.OK;
}

/** `tattle setup`: config, spool and (with --pam) the sshd PAM line. */
async function runSetup(args: CliArgs): Promise<ExitCode> {
  const { setup } = await import("./lib/setup.ts");
  const binary = isScriptMode() ? "/usr/local/bin/tattle" : Deno.execPath();
  const actions = await setup({
    root: args.root,
    pam: args.pam,
    uninstall: args.uninstall,
    disableUserReadenv: args.disableUserReadenv,
    binary,
  });
  for (const action of actions) print(`tattle setup: ${action}`);
  return EXIT.OK;
}

/** Runtime variables this process has for reasons of its own (the runtime, the dev launcher). */
function expectedRuntimeVariables(): ReadonlySet<string> {
  if (!isScriptMode()) return RUNTIME_SET_VARIABLES;
  return new Set([...RUNTIME_SET_VARIABLES, ...SCRIPT_MODE_VARIABLES]);
}

function print(text: string): typeof EXIT.OK {
  Deno.stdout.writeSync(new TextEncoder().encode(`${text}\n`));
  return EXIT.OK;
}

if (import.meta.main) {
  // Exit explicitly: a timed-out SDK call can leave sockets that keep the
  // event loop alive, and pam_exec waits for tattle with no timeout.
  Deno.exit(await main(Deno.args));
}
