/**
 * One reconciliation pass, as the sender and `tattle flush` run it before
 * they send (I/O): the journal, the spool and the system's records in;
 * reconciliation's events into the spool, the journal out.
 *
 * @module
 */

import { ignoredBy, needsGroups } from "../capture/ignore.ts";
import type { IsAlive } from "../capture/sessions.ts";
import type { Config } from "../config/config.ts";
import { spoolList, spoolRead, spoolRemove, spoolWrite } from "../delivery/spool.ts";
import type { Account } from "../event/account.ts";
import { systemdBooted } from "../host/systemd.ts";
import { messageOf } from "../util/errors.ts";
import { type BootReading, followBoot } from "./boot.ts";
import { readJournal, writeJournal } from "./journal.ts";
import { readLogind } from "./logind.ts";
import { reconcile } from "./reconcile.ts";
import { fromLogind, fromUtmp, fromWtmp, type SystemSession } from "./system.ts";
import { readUtmp, UT, UTMP, WTMP } from "./utmp.ts";

/**
 * logind's sessions younger than this wait for the next pass: pam_systemd
 * registers a session before tattle's hook runs, and a hook spools its
 * record within its bounded local steps. A hook later than this is late:
 * its open is not sent twice.
 */
export const LOGIND_GRACE_MS = 30_000;

/** What a pass needs from the host; the production ones in {@link reconcilerFor}. */
export interface ReconcileDeps {
  config: Pick<Config, "spool_dir" | "state_dir" | "ignore" | "reconcile_services">;
  log: (line: string) => void;
  now: () => number;
  /** What can be read of this boot; `undefined` where nothing can. */
  boot: () => Promise<BootReading | undefined>;
  hostname: string;
  /** The system's sessions; `undefined` where there is no source. */
  systemSessions: (bootMs: number) => Promise<SystemSession[] | undefined>;
  alive: () => Promise<IsAlive>;
  /** The user's groups, for `ignore.groups`. */
  account: (user: string) => Promise<Account | undefined>;
}

/** What a pass did. */
export interface ReconcileSummary {
  spooled: number;
  dropped: number;
}

/** Runs one pass; its problems are said and never stop delivery. */
export async function reconcilePass(deps: ReconcileDeps): Promise<ReconcileSummary> {
  const { config } = deps;
  const now = deps.now();
  if (config.reconcile_services.length === 0) return { spooled: 0, dropped: 0 };
  const reading = await deps.boot();
  if (reading === undefined) return { spooled: 0, dropped: 0 };
  const journal = await readJournal(config.state_dir, now);
  const boot = followBoot(journal.boot, reading);
  // Who is alive, asked before the spool is listed: a hook spools its close before its sshd
  // can exit, so a process seen gone here has its close in the listing below, if it had one.
  // A process first met in the listing counts as alive until the next pass.
  const isAlive = await deps.alive();
  const snapshot = new Map(
    journal.sessions.filter((s) => !s.closed).map((s) => [s.pid, isAlive(s.pid)]),
  );
  const pending = [];
  for (const name of await spoolList(config.spool_dir)) {
    try {
      pending.push({ name, record: await spoolRead(config.spool_dir, name) });
    } catch {
      // sent meanwhile, or unreadable: the pass that sends moves it to failed/
    }
  }
  let system: SystemSession[] | undefined;
  try {
    system = await deps.systemSessions(reading.estimate * 1000);
  } catch (error) {
    deps.log(`warning: reconciliation could not read the system's sessions: ${messageOf(error)}`);
  }
  const out = await reconcile({
    journal,
    now,
    bootMs: boot.id * 1000,
    hostname: deps.hostname,
    pending,
    system,
    alive: (pid) => snapshot.get(pid) ?? true,
    ignoredBy: async (user, service) => {
      const byName = ignoredBy(config.ignore, user, service, undefined);
      if (byName || !needsGroups(config.ignore)) return byName;
      const groups = (await deps.account(user).catch(() => undefined))?.groups;
      return ignoredBy(config.ignore, user, service, groups);
    },
    graceMs: LOGIND_GRACE_MS,
  });
  // The events first, the journal after: a pass cut short between the two finds its events
  // in the spool next time (they carry the system's key), and reports nothing twice.
  for (const record of out.spool) await spoolWrite(config.spool_dir, record);
  await spoolRemove(config.spool_dir, out.drop);
  await writeJournal(config.state_dir, { ...out.journal, boot });
  for (const note of out.notes) deps.log(`reconciliation: ${note}`);
  return { spooled: out.spool.length, dropped: out.drop.length };
}

/**
 * The system's sessions on this host: logind's where systemd runs (every
 * session, pty or not), else utmp's and wtmp's (sessions with a pty only).
 */
export async function hostSessions(
  services: readonly string[],
  bootMs: number,
): Promise<SystemSession[]> {
  if (await systemdBooted()) return fromLogind(await readLogind(), bootMs, services);
  const [current, history] = await Promise.all([readUtmp(UTMP), readUtmp(WTMP)]);
  return [...fromUtmp(current), ...fromWtmp(history)];
}

/** Reconciliation as the sender and `tattle flush` run it on this host. */
export function reconcilerFor(
  config: ReconcileDeps["config"],
  log: (line: string) => void,
  account: (user: string) => Promise<Account | undefined>,
): () => Promise<ReconcileSummary> {
  return () =>
    reconcilePass({
      config,
      log,
      now: Date.now,
      boot: bootReading,
      hostname: Deno.hostname(),
      systemSessions: (bootMs) => hostSessions(config.reconcile_services, bootMs),
      alive: async () => (await import("../capture/sessions.ts")).processLiveness(),
      account,
    });
}

/**
 * This boot as the host shows it: the uptime, and utmp's boot record
 * (written by init, once per boot) where there is one.
 */
export async function bootReading(): Promise<BootReading | undefined> {
  let uptime: number;
  try {
    uptime = Deno.osUptime();
  } catch {
    return undefined;
  }
  const estimate = Math.round(Date.now() / 1000 - uptime);
  const records = await readUtmp(UTMP).catch(() => []);
  const record = records.findLast((r) => r.type === UT.BOOT_TIME);
  return {
    estimate,
    uptime,
    ...(record === undefined ? {} : { utmp: Math.floor(record.time / 1000) }),
  };
}
