/**
 * `tattle doctor`: checks, in order, everything a delivery needs, printing
 * ✓ or ✗, the time each took and, on ✗, what to do (I/O).
 *
 * Each check hands its result to the checks that need it; a check whose
 * prerequisite failed is shown as skipped.
 *
 * @module
 */

import { type Config, OUTSIDE_EC2_HINT } from "./config.ts";
import { loadConfig } from "./config_file.ts";
import { credentialsFor } from "./credentials.ts";
import { type Deadline, deadlineIn, raceSignal } from "./deadline.ts";
import { EXIT, type ExitCode, messageOf } from "./errors.ts";
import type { Identity } from "./event.ts";
import { eventsEndpoint, partitionOf } from "./partition.ts";
import type { Session } from "./pam.ts";
import { moduleName, PRLIMIT } from "./pam_stack.ts";
import { readPamStack, userReadenvFindings } from "./pam_stack_file.ts";
import { entryFor } from "./record.ts";
import { sdkEnvironment } from "./send.ts";
import { assertTrusted } from "./trust.ts";
import { VERSION } from "./version.ts";

/** What doctor is asked to check. */
export interface DoctorOptions {
  configPath: string;
  configExplicit: boolean;
  flags: Parameters<typeof loadConfig>[2];
  sendTest: boolean;
  /** Where the PAM stack is read from ("/" on a host). */
  root: string;
  print: (line: string) => void;
}

/** Runs every check; exit 0 only when all pass. */
export async function doctor(options: DoctorOptions): Promise<ExitCode> {
  const run = checkRunner(options.print);
  const budget = (config: Config): Deadline => deadlineIn(config.timeout * 1000);

  const config = await run.check(
    "config",
    "fix the file named above (owned by root, not group/world writable, valid keys)",
    async () => {
      const config = await loadConfig(options.configPath, options.configExplicit, options.flags);
      for (const [name, value] of Object.entries(sdkEnvironment(config))) {
        Deno.env.set(name, value);
      }
      await assertTrusted(config.spool_dir, "spool directory");
      await assertTrusted(config.state_dir, "state directory");
      return { value: config, detail: `${options.configPath}: trusted and valid` };
    },
  );
  await run.check(
    "PAM stack",
    "run tattle setup --pam (add --disable-user-readenv when it says so)",
    () => checkPamStack(options.root),
  );
  const identity = await run.after(
    config,
    "identity",
    `check the instance's metadata options (HttpTokens, hop limit); ${OUTSIDE_EC2_HINT}`,
    async (config) => {
      if (config.identity === "none") {
        const identity = { region: config.region!, resources: config.resources };
        return {
          value: identity,
          detail: `static: region ${identity.region}, resources [${identity.resources.join(", ")}]`,
        };
      }
      const { fetchIdentity } = await import("./imds.ts");
      const identity = await fetchIdentity(config.imds_endpoint, budget(config));
      return {
        value: identity,
        detail:
          `IMDSv2 at ${config.imds_endpoint}: token accepted, instance ${identity.instanceId}, ` +
          `region ${identity.region}, partition ${partitionOf(identity.region)}`,
      };
    },
  );
  const target = config && identity && { config, identity, region: regionOf(config, identity) };
  const credentials = await run.after(
    target,
    "credentials",
    'attach an instance role (or set "profile") that allows events:PutEvents',
    async ({ config, region }) => {
      const { describeCredentials } = await import("./eventbridge.ts");
      return {
        value: true,
        detail: await describeCredentials(
          region,
          config.profile,
          credentialsFor(config),
          budget(config),
        ),
      };
    },
  );
  const endpoint = await run.after(
    credentials && target,
    "EventBridge endpoint",
    "check outbound HTTPS to the endpoint (security groups, NACLs, VPC endpoint, proxy)",
    async ({ config, region }) => {
      const endpoint = eventsEndpoint(region, config.endpoint_url);
      const deadline = budget(config);
      const response = await raceSignal(
        fetch(endpoint, { signal: deadline.signal }),
        deadline.signal,
      );
      await response.body?.cancel();
      return { value: true, detail: `${endpoint} answered (HTTP ${response.status})` };
    },
  );
  if (options.sendTest) {
    await run.after(
      endpoint && target,
      "test event",
      "see the error: it is EventBridge's answer to a real PutEvents call",
      ({ config, identity, region }) => sendTestEvent(config, identity, region, budget(config)),
    );
  }
  return run.failed() ? EXIT.UNAVAILABLE : EXIT.OK;
}

function regionOf(config: Config, identity: Identity): string {
  return config.region ?? identity.region;
}

/** The sshd PAM stack reads no user environment and runs tattle through prlimit. */
async function checkPamStack(root: string): Promise<{ value: true; detail: string }> {
  const stack = await readPamStack(root, "sshd");
  const [readenv] = userReadenvFindings(stack);
  if (readenv) {
    throw new Error(
      `${readenv.file} line ${readenv.directive.number} enables user_readenv=1: every user's ` +
        "~/.pam_environment reaches tattle, which runs as root (code named by LD_PRELOAD would " +
        "run as root)",
    );
  }
  const line = stack.flatMap((f) => f.directives.map((d) => ({ file: f.file, d }))).find((
    { d },
  ) => d.type === "session" && moduleName(d.module) === "pam_exec.so" && /\btattle\b/.test(d.raw));
  if (!line) throw new Error("no session line of the sshd stack runs tattle");
  if (!line.d.args.includes(PRLIMIT)) {
    throw new Error(
      `${line.file} line ${line.d.number} runs tattle without ${PRLIMIT}: a user with an ` +
        "address-space limit in limits.conf is not reported when the session closes",
    );
  }
  return {
    value: true,
    detail: `${line.file} line ${line.d.number} runs tattle through prlimit; no user_readenv`,
  };
}

async function sendTestEvent(
  config: Config,
  identity: Identity,
  region: string,
  deadline: Deadline,
): Promise<{ value: true; detail: string }> {
  const session: Session = {
    state: "test",
    user: "tattle-doctor",
    rhost: "",
    service: "tattle-doctor",
    tty: "",
    truncated: [],
  };
  const record = {
    v: 1 as const,
    event_id: crypto.randomUUID(),
    time: new Date().toISOString(),
    hostname: Deno.hostname(),
    session,
  };
  const { publish } = await import("./eventbridge.ts");
  const [result] = await publish([await entryFor(record, identity, config, VERSION)], {
    region,
    endpoint: config.endpoint_url,
    credentials: credentialsFor(config),
    caBundle: config.ca_bundle,
    profile: config.profile,
    deadline,
  });
  if (!result.ok) throw new Error(`${result.code}: ${result.message}`);
  return { value: true, detail: `sent, EventId ${result.eventId}` };
}

/** Runs checks, printing each one's outcome, and remembers whether any failed. */
function checkRunner(print: (line: string) => void) {
  let failed = false;
  const check = async <T>(
    name: string,
    fix: string,
    run: () => Promise<{ value: T; detail: string }>,
  ): Promise<T | undefined> => {
    const started = performance.now();
    try {
      const { value, detail } = await run();
      print(`✓ ${name}: ${detail} (${ms(started)})`);
      return value;
    } catch (error) {
      failed = true;
      print(`✗ ${name}: ${messageOf(error)} (${ms(started)})`);
      print(`  what to do: ${fix}`);
      return undefined;
    }
  };
  return {
    check,
    /** Runs a check that needs `input`, or shows it skipped when an earlier check failed. */
    after<I, T>(
      input: I | undefined | false,
      name: string,
      fix: string,
      run: (input: I) => Promise<{ value: T; detail: string }>,
    ): Promise<T | undefined> {
      if (input === undefined || input === false) {
        print(`- ${name}: skipped (an earlier check failed)`);
        return Promise.resolve(undefined);
      }
      return check(name, fix, () => run(input));
    },
    failed: () => failed,
  };
}

function ms(started: number): string {
  return `${Math.round(performance.now() - started)} ms`;
}
