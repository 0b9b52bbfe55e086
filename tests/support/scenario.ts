/**
 * A test scenario: the fake IMDS and EventBridge, a temporary home with a
 * config pointing tattle at them, and helpers to run the hook and flush.
 *
 * @module
 */

import { startFakeEventBridge, TEST_TLS } from "../fakes/eventbridge.ts";
import { FAKE_ROLE, startFakeImds } from "../fakes/imds.ts";
import type { LocalAccount } from "../../lib/host/accounts.ts";
import { prepareDirectories } from "../../lib/setup/directories.ts";
import { pamEnv, runTattle, runTattleWithEntries, startTattle, testHome } from "./tattle.ts";

/** Seconds of the hook's budget in scenarios: short, so fault tests are quick. */
export const TIMEOUT_S = 1;

/** How a scenario's fakes listen. */
export interface ScenarioOptions {
  /** EventBridge over HTTPS, its CA given to tattle as `ca_bundle`. */
  tls?: boolean;
}

/** Starts the fakes and writes a config for them (`overrides` win). */
export async function scenario(
  overrides: Record<string, unknown> = {},
  options: ScenarioOptions = {},
) {
  const imds = startFakeImds();
  const events = startFakeEventBridge(
    { [FAKE_ROLE.accessKeyId]: FAKE_ROLE.secretAccessKey },
    { tls: options.tls },
  );
  const home = await testHome({
    imds_endpoint: imds.url,
    endpoint_url: events.url,
    timeout: TIMEOUT_S,
    mode: "inline",
    // Senders the tests start leave soon after their work, as they did before sender_idle.
    sender_idle: 3,
    // This machine's own utmp and wtmp are not the test's: tests of reconciliation turn it on.
    reconcile_services: [],
    ...overrides,
  });
  if (options.tls) {
    // Only paths the test allows are readable under the permission set: copy the CA there.
    await Deno.copyFile(TEST_TLS.ca, `${home.dir}/ca.pem`);
    const settings = JSON.parse(await Deno.readTextFile(home.configPath));
    await Deno.writeTextFile(
      home.configPath,
      JSON.stringify({ ...settings, ca_bundle: `${home.dir}/ca.pem` }),
    );
  }
  const config = ["--config", home.configPath];
  const settings: Record<string, unknown> = JSON.parse(await Deno.readTextFile(home.configPath));
  return {
    imds,
    events,
    home,
    /** Runs the hook as pam_exec would. */
    run: (env: Record<string, string> = pamEnv(), args: string[] = []) =>
      runTattle([...config, ...args], env, home.access),
    /**
     * Runs the hook with an environment given entry by entry, names possibly
     * repeated, as pam_exec builds it: the PAM environment, then its own items.
     */
    runWithEntries: (entries: Array<[string, string]>, args: string[] = []) =>
      runTattleWithEntries([...config, ...args], entries, home.access),
    /**
     * Starts `tattle sender` with `args` (e.g. `--sender-idle=0`: resident),
     * as `as` if given; stopped when disposed.
     */
    startSender: (args: string[] = [], as?: { uid: number; gid: number }) =>
      startTattle(["sender", ...args, ...config], { ...home.access, as }),
    /**
     * Lays the directories out as setup does on a host whose sender runs as
     * `account` (lib/setup/directories.ts), and lets it into the test's home.
     */
    async handTo(account: LocalAccount) {
      await Deno.chmod(home.dir, 0o755);
      await prepareDirectories(
        { spool_dir: home.spoolDir, state_dir: home.stateDir, runtime_dir: home.runtimeDir },
        "",
        account,
      );
    },
    /** Runs `tattle flush`. */
    flush: (args: string[] = []) => runTattle(["flush", ...config, ...args], {}, home.access),
    /** Rewrites the config with `changes` applied. */
    setConfig: (changes: Record<string, unknown>) =>
      Deno.writeTextFile(home.configPath, JSON.stringify(Object.assign(settings, changes))),
    /** event_id of every event the fake accepted. */
    deliveredIds: () => events.received.map((e) => String(e.detail.event_id)),
    /** Record files waiting in the spool (not the spool's own dot-files). */
    spooled: () =>
      [...Deno.readDirSync(home.spoolDir)].map((e) => e.name).filter((n) =>
        /^\d{15}-.*\.json$/.test(n)
      ),
    /** Waits until `check` holds, polling for up to `ms`. */
    async until(check: () => boolean, ms = 5000): Promise<boolean> {
      const end = Date.now() + ms;
      while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
      return check();
    },
    async [Symbol.asyncDispose]() {
      await imds[Symbol.asyncDispose]();
      await events[Symbol.asyncDispose]();
      await Deno.remove(home.dir, { recursive: true }).catch(() => {});
    },
  };
}

/** A scenario, as {@link scenario} returns it. */
export type Scenario = Awaited<ReturnType<typeof scenario>>;
