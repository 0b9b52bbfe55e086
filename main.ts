/**
 * tattle: reports SSH session opens and closes from PAM to Amazon
 * EventBridge.
 *
 * pam_exec runs `tattle` (the `hook` command) on every session open and
 * close; {@link login} below is that run, step by step. The other commands
 * (`flush`, `setup`, `doctor`) live in `lib/commands/` and load only when
 * they run.
 *
 * @module
 */

import { captureEvent, thisHost } from "./lib/capture/capture.ts";
import { takeHookEnvironment } from "./lib/capture/environment.ts";
import { readSession, withTamper } from "./lib/capture/pam.ts";
import { RUNTIME_SET_VARIABLES, SCRIPT_MODE_VARIABLES } from "./lib/capture/variables.ts";
import { command, type CommandContext } from "./lib/cli/command.ts";
import { stderrLine } from "./lib/cli/report.ts";
import { runCli } from "./lib/cli/run.ts";
import { VERSION } from "./lib/cli/version.ts";
import { HOOK } from "./lib/commands/hook.ts";
import type { Config } from "./lib/config/config.ts";
import { senderLock } from "./lib/config/paths.ts";
import { deliver } from "./lib/delivery/deliver.ts";
import type { CapturedEvent } from "./lib/delivery/record.ts";
import { wakeSender } from "./lib/delivery/wake.ts";
import { isScriptMode } from "./lib/host/script_mode.ts";
import { deadlineIn, LOCAL_STEP_BOUND_MS } from "./lib/util/deadline.ts";
import { EXIT, type ExitCode } from "./lib/util/errors.ts";

/**
 * How long past its network timeout the hook may run before the watchdog
 * ends it: the local work after sending (removing the delivered record, with
 * an fsync) gets the same bound as the spool write, for a slow disk.
 */
const WATCHDOG_GRACE_MS = LOCAL_STEP_BOUND_MS;

/** One login: what pam_exec runs on a session open or close. */
async function login(ctx: CommandContext<typeof HOOK.options>): Promise<ExitCode> {
  // 1. The hook's environment is the PAM environment, which a user can fill
  //    (pam_env's user_readenv): read pam_exec's own items, name any
  //    tampering, and keep nothing else, before anything creates a Date or a
  //    network client.
  const environment = takeHookEnvironment(expectedRuntimeVariables());
  // What the hook writes for the sender must be readable by the sender's account,
  // whatever umask the session left (pam_umask, a user's GECOS umask=).
  Deno.umask(0o022);

  // 2. The config: a file only root can change, and the flags of the PAM line.
  const config = await ctx.config();
  if (config.trust_environment) restoreAws(environment.aws);

  // 3. The session, as pam_exec describes it. Run by hand (a terminal, a dry
  //    run), the environment is an operator's shell: its runtime variables are
  //    said as such, not reported as tamper. No user can make pam_exec's hook
  //    either.
  const terminal = Deno.stderr.isTerminal();
  const byHand = ctx.values["dry-run"] === true || terminal;
  if (byHand && environment.runtime.length > 0) {
    stderrLine(
      "tattle: note: run by hand, not by pam_exec: the environment is a shell's, and its runtime " +
        `variables (${environment.runtime.join(", ")}) are not reported as tamper`,
    );
  }
  const tamper = byHand ? environment.tamper : [...environment.tamper, ...environment.runtime];
  const session = withTamper(readSession(environment.read), tamper.sort());

  // 4. Capture it: a new event_id, the time PAM called tattle, the cached
  //    identity, and for a close what its open recorded. Or nothing, when
  //    the host's ignore rules match the true user, service or groups (a
  //    close follows its open): no spool file, no network.
  const time = new Date(performance.timeOrigin);
  const { record, ignored } = await captureEvent(session, config, time, thisHost(), ctx.log);
  if (ignored !== undefined) {
    if (ctx.values["dry-run"]) ctx.log(`no event: the session is ignored (${ignored})`);
    return EXIT.OK;
  }
  if (ctx.values["dry-run"]) return await dryRun(record, config, ctx);

  // 5. Deliver it: spooled, then the sender is woken (background: the
  //    service's socket on a systemd host, else a sender the hook starts) or
  //    the hook waits for the delivery (inline; always when run by hand from
  //    a terminal).
  return await deliver(record, {
    config,
    lock: senderLock(config),
    wake: () => wakeSender(config, ctx.configPath, ctx.settingsArgs),
    networkMs: config.timeout * 1000,
    mode: terminal ? "inline" : config.mode,
    log: ctx.log,
    // Loaded on use: a background hook never sends.
    flush: async (deadline) =>
      (await import("./lib/delivery/context.ts")).flushContextFor(config, deadline, ctx.log),
    sendDirect: async (event, deadline) =>
      (await import("./lib/delivery/context.ts")).sendDirect(config, event, deadline, ctx.log),
    onLocalWriteOver: (spooled) => armWatchdog(config, spooled),
  });
}

/** `--dry-run`: the PutEvents entry, printed instead of sent. */
async function dryRun(
  record: CapturedEvent,
  config: Config,
  ctx: CommandContext,
): Promise<ExitCode> {
  // Loaded on use: a login never builds its event in the hook.
  const [{ resolveIdentity }, { putEventsEntry }, { buildEvent }] = await Promise.all([
    import("./lib/aws/identity.ts"),
    import("./lib/aws/entry.ts"),
    import("./lib/event/build.ts"),
  ]);
  const deadline = deadlineIn(config.timeout * 1000);
  const identity = record.identity ?? await resolveIdentity(config, deadline, ctx.log);
  const event = await buildEvent(record, identity, config, VERSION);
  const entry = putEventsEntry(event, config.event_bus);
  // For a terminal, readable: the Detail as the object it encodes. Piped, the entry as sent.
  ctx.print(
    Deno.stdout.isTerminal()
      ? JSON.stringify({ ...entry, Detail: JSON.parse(entry.Detail) }, null, 2)
      : JSON.stringify(entry),
  );
  return EXIT.OK;
}

/**
 * The backstop against a bug, since pam_exec waits for tattle with no
 * timeout: every network step already honours the timeout. Armed once the
 * spool write is over (or given up on), so it never ends the spool write.
 */
function armWatchdog(config: Config, spooled: boolean): void {
  const where = spooled
    ? `the event is in ${config.spool_dir}`
    : `the event was not spooled (${config.spool_dir} did not take it in time) and may be lost`;
  // The runtime's own timer, not `setTimeout` (which loads Node's timers); it
  // holds the event loop open, which is harmless as the hook always exits itself.
  AbortSignal.timeout(config.timeout * 1000 + WATCHDOG_GRACE_MS).onabort = () => {
    stderrLine(
      `tattle: error: internal error: still running ${WATCHDOG_GRACE_MS / 1000} s after the ` +
        `${config.timeout} s timeout; ${where}`,
    );
    Deno.exit(EXIT.SOFTWARE);
  };
}

/** Runtime variables this process has for reasons of its own (the runtime, the dev launcher). */
function expectedRuntimeVariables(): ReadonlySet<string> {
  if (!isScriptMode()) return RUNTIME_SET_VARIABLES;
  return new Set([...RUNTIME_SET_VARIABLES, ...SCRIPT_MODE_VARIABLES]);
}

/** `trust_environment`: the AWS_* variables come back, except where tattle's config decides. */
function restoreAws(aws: Record<string, string>): void {
  for (const [name, value] of Object.entries(aws)) {
    if (!Deno.env.has(name)) Deno.env.set(name, value);
  }
}

/** The hook: its options and help (lib/commands/hook.ts), run as {@link login}. */
export const hook = command({ ...HOOK, run: login });

/** Runs tattle with `argv` and returns its exit code. */
export function main(argv: string[]): Promise<ExitCode> {
  return runCli(argv, hook);
}

if (import.meta.main) {
  // Exit explicitly: a timed-out SDK call can leave sockets that keep the
  // event loop alive, and pam_exec waits for tattle with no timeout.
  Deno.exit(await main(Deno.args));
}
