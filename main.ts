/**
 * tattle: reports SSH session opens and closes from PAM to Amazon EventBridge.
 *
 * The hook's data flows one way:
 * PAM env → session → identity → event entry → publish.
 *
 * @module
 */

import { parseCli, USAGE } from "./lib/args.ts";
import { loadConfig } from "./lib/config_file.ts";
import { deadlineAt } from "./lib/deadline.ts";
import { processEnv } from "./lib/env.ts";
import { EXIT, type ExitCode } from "./lib/errors.ts";
import { buildEntry } from "./lib/event.ts";
import { resolveIdentity } from "./lib/identity.ts";
import { readSession } from "./lib/pam.ts";
import { reportError } from "./lib/report.ts";
import { sdkEnvironment, sendEntry } from "./lib/send.ts";
import { VERSION } from "./lib/version.ts";

/** Runs tattle with `argv` and returns its exit code. */
export async function main(argv: string[]): Promise<ExitCode> {
  const time = new Date();
  try {
    const args = parseCli(argv);
    if (args.help) return print(USAGE);
    if (args.version) return print(`tattle ${VERSION}`);
    const config = await loadConfig(args.configPath, args.configExplicit, args.settings);
    // The budget counts from when PAM called tattle, not from when config was read.
    const deadline = deadlineAt(time.getTime() + config.timeout * 1000);

    const session = readSession(processEnv());
    const identity = await resolveIdentity(config, deadline);
    const entry = buildEntry({
      session,
      identity,
      hostname: Deno.hostname(),
      eventId: crypto.randomUUID(),
      version: VERSION,
      time,
      source: config.source,
      detailType: config.detail_type,
      eventBus: config.event_bus,
      extraDetail: config.extra_detail,
    });
    if (args.dryRun) return print(JSON.stringify(entry));

    for (const [name, value] of Object.entries(sdkEnvironment(config))) Deno.env.set(name, value);
    await sendEntry(entry, config, identity, deadline);
    return EXIT.OK;
  } catch (error) {
    return reportError(error, argv.includes("--debug"));
  }
}

function print(text: string): ExitCode {
  Deno.stdout.writeSync(new TextEncoder().encode(`${text}\n`));
  return EXIT.OK;
}

if (import.meta.main) {
  // Exit explicitly: a timed-out SDK call can leave sockets that keep the
  // event loop alive, and pam_exec waits for tattle with no timeout.
  Deno.exit(await main(Deno.args));
}
