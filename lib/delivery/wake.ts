/**
 * Waking the sender once an event is spooled (I/O).
 *
 * On a systemd host the sender is `tattle-sender.service`, started by
 * `tattle-sender.socket`: the hook connects to that socket and hangs up.
 * systemd starts the service on the first connection of a burst; a running
 * sender takes each connection as a sign to look at the spool. The sender
 * then runs in `system.slice` as its own account, out of reach of the
 * session it reports on, and the hook starts nothing. Elsewhere the hook
 * starts the sender itself, as the spool's owner.
 *
 * @module
 */

import type { Config } from "../config/config.ts";
import { senderLock, senderSocket } from "../config/paths.ts";
import { systemdBooted } from "../host/systemd.ts";
import { withinBound } from "../util/deadline.ts";
import { messageOf } from "../util/errors.ts";

/** How long connecting to the sender's socket may take. */
const POKE_BOUND_MS = 2_000;

/** What waking found or did. */
export type Woken = "poked" | "running" | "starting" | "started";

/**
 * Wakes the sender for `config`'s spool.
 *
 * @throws {Error} saying why no sender will come (no socket listening, or
 * none could be started).
 */
export async function wakeSender(
  config: Config,
  configPath: string,
  senderOptions: string[],
): Promise<Woken> {
  if (await systemdBooted()) {
    await poke(senderSocket(config));
    return "poked";
  }
  // Loaded here: a login on a systemd host never starts a process.
  const { ensureSender, senderCommand, startDetached } = await import("./spawn.ts");
  return await ensureSender(config.spool_dir, senderLock(config), async () => {
    startDetached(await senderCommand(senderOptions, config, configPath));
  });
}

/**
 * Connects to the sender's socket and hangs up. A full backlog means the
 * sender has many waiting already: it will look at the spool.
 *
 * @throws {Error} when nothing listens there.
 */
export async function poke(path: string): Promise<void> {
  try {
    const connection = await withinBound(
      Deno.connect({ transport: "unix", path }),
      POKE_BOUND_MS,
      `connecting to ${path}`,
    );
    connection.close();
  } catch (error) {
    if (error instanceof Deno.errors.WouldBlock) return;
    const why = error instanceof Deno.errors.NotFound
      ? "there is no socket"
      : error instanceof Deno.errors.ConnectionRefused
      ? "nothing listens on it"
      : messageOf(error);
    throw new Error(
      `the sender service's socket ${path} did not answer (${why}): ` +
        "systemctl enable --now tattle-sender.socket",
    );
  }
}
