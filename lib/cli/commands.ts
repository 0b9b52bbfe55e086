/**
 * The table of subcommands. All but the hook are imported when they run:
 * a login loads only its own code.
 *
 * To add a subcommand: write `lib/commands/<name>.ts` exporting a
 * {@link Command}, and add one line here.
 *
 * @module
 */

import type { Command } from "./command.ts";

/** Every subcommand except the hook (whose run is the login flow in main.ts). */
export const COMMANDS: Record<string, () => Promise<Command>> = {
  flush: async () => (await import("../commands/flush.ts")).flush,
  sender: async () => (await import("../commands/sender.ts")).sender,
  status: async () => (await import("../commands/status.ts")).status,
  setup: async () => (await import("../commands/setup.ts")).setup,
  doctor: async () => (await import("../commands/doctor.ts")).doctor,
};
