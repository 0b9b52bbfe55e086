/**
 * `tattle doctor`: checks, in order, everything a delivery needs, printing
 * ✓ or ✗, the time each took and, on ✗, what to do.
 *
 * Each check hands its result to the checks that need it; a check whose
 * prerequisite failed is shown as skipped.
 *
 * @module
 */

import { assertRootReachable } from "../config/reach.ts";
import { credentialsFor } from "../aws/credentials.ts";
import { reachAsUnprivileged, roleCredentialsReach, UNPRIVILEGED } from "../aws/imds_reach.ts";
import { type Identity, staticIdentity } from "../aws/identity.ts";
import { OUTSIDE_EC2_HINT } from "../aws/imds.ts";
import { partitionOf } from "../aws/partition.ts";
import { sinkFor } from "../aws/sink.ts";
import { describeRules } from "../capture/ignore.ts";
import { ID_PROGRAM, resolveAccount } from "../capture/nss.ts";
import { command } from "../cli/command.ts";
import { VERSION } from "../cli/version.ts";
import { type Config, DEFAULTS } from "../config/config.ts";
import { senderSocket } from "../config/paths.ts";
import { assertTrusted } from "../config/trust.ts";
import { describeFailure } from "../delivery/sink.ts";
import { ownerOf, tattleCommand } from "../delivery/spawn.ts";
import { poke } from "../delivery/wake.ts";
import { SENDER_ACCOUNT, senderAccount } from "../host/accounts.ts";
import { systemdBooted } from "../host/systemd.ts";
import { buildEvent } from "../event/build.ts";
import { PRLIMIT } from "../setup/pam_line.ts";
import { moduleName } from "../setup/pam_stack.ts";
import { readPamStack, userReadenvFindings } from "../setup/pam_stack_file.ts";
import { type Deadline, DeadlineError, deadlineIn, raceSignal } from "../util/deadline.ts";
import { EXIT, messageOf, type NetworkCause, networkCause } from "../util/errors.ts";

/** `tattle doctor`. */
export const doctor = command({
  name: "doctor",
  summary:
    "check the config, ignore rules, name service, PAM stack, identity, credentials and EventBridge",
  usage: "doctor [--send-test] [--root DIR] [OPTIONS]",
  description:
    "Checks, in order: the config's trust and validity, the sender (its account; on a systemd " +
    "host, tattle-sender.socket), the ignore rules (listed), the name service (uid and groups " +
    "of root), the sshd PAM stack (no user_readenv=1, tattle's line through prlimit), the " +
    "identity (IMDSv2 token and document, partition), whether an account with no privileges " +
    "gets the instance role's credentials from IMDS, the credentials (their source, never the " +
    "secret) and the EventBridge endpoint, each with ✓ or ✗, its time and what to do. " +
    '--send-test also sends one event with session "test".',
  options: {
    "send-test": { kind: "boolean", help: "also send one test event" },
    root: { kind: "string", value: "DIR", help: 'read the PAM stack under DIR (default "/")' },
    "imds-probe": {
      kind: "string",
      value: "URL",
      help: "doctor's own probe, run as nobody: only ask IMDS at URL for role credentials",
    },
  },
  settings: true,
  exitCodes: "0 every check passed; 64 bad command line; 69 a check failed.",
  async run(ctx) {
    const probe = ctx.values["imds-probe"];
    if (probe !== undefined) {
      const timeout = ctx.settings.timeout ?? DEFAULTS.timeout;
      ctx.print(JSON.stringify(await roleCredentialsReach(probe, timeout * 1000)));
      return EXIT.OK;
    }
    assertRootReachable("doctor", ctx.values.root ?? "/", ["read"]);
    const run = checkRunner(ctx.print);
    const budget = (config: Config): Deadline => deadlineIn(config.timeout * 1000);

    const config = await run.check(
      "config",
      "fix the file named above (owned by root, not group/world writable, valid keys)",
      async () => {
        const config = await ctx.config();
        await assertTrusted(config.spool_dir, "spool directory");
        await assertTrusted(config.state_dir, "state directory");
        await assertTrusted(config.runtime_dir, "runtime directory");
        const absent = await Deno.lstat(ctx.configPath).then(
          () => false,
          (error) => error instanceof Deno.errors.NotFound,
        );
        const detail = absent ? "absent: the defaults apply" : "trusted and valid";
        return { value: config, detail: `${ctx.configPath}: ${detail}` };
      },
    );
    await run.after(
      config,
      "sender",
      `run tattle setup (it creates the directories, owned by ${SENDER_ACCOUNT}); on a systemd ` +
        "host: systemctl enable --now tattle-sender.socket",
      (config) => checkSender(config),
    );
    await run.after(
      config,
      "ignore rules",
      "remove from ignore what the security team must see",
      (config) => Promise.resolve({ value: true, detail: describeRules(config.ignore) }),
    );
    await run.check(
      "name service",
      "check nsswitch.conf and the directory service (sssd, LDAP): until then events go " +
        "without uid and groups, and ignore.groups does not apply",
      async () => {
        const root = await resolveAccount("root");
        if (!root) throw new Error(`${ID_PROGRAM} does not know root`);
        return {
          value: true,
          detail: `${ID_PROGRAM}: root is uid ${root.uid}, groups ${root.groups.join(", ")}`,
        };
      },
    );
    await run.check(
      "PAM stack",
      "run tattle setup --pam: it puts its own line in place of any other that runs tattle " +
        "(add --disable-user-readenv when it says so)",
      () => checkPamStack(ctx.values.root ?? "/"),
    );
    const identity = await run.after(
      config,
      "identity",
      `check the instance's metadata options (HttpTokens, hop limit); ${OUTSIDE_EC2_HINT}`,
      async (config) => {
        if (config.identity === "none") {
          const identity = staticIdentity(config);
          return {
            value: identity,
            detail: `static: region ${identity.region}, resources [${
              identity.resources.join(", ")
            }]`,
          };
        }
        const { fetchIdentity } = await import("../aws/imds.ts");
        const identity = await fetchIdentity(config.imds_endpoint, budget(config)).catch(
          (error) => {
            throw withFix(error, imdsAdvice(error, config));
          },
        );
        return {
          value: identity,
          detail:
            `IMDSv2 at ${config.imds_endpoint}: token accepted, instance ${identity.instanceId}, ` +
            `region ${identity.region}, partition ${partitionOf(identity.region)}`,
        };
      },
    );
    if (config && credentialsFor(config) && Deno.uid() !== 0) {
      run.skip("IMDS for other accounts", "only root can ask as another account: run as root");
    } else if (config && credentialsFor(config)) {
      await run.after(
        identity,
        "IMDS for other accounts",
        "let only root and tattle reach 169.254.169.254: load contrib/nftables/tattle-imds.nft " +
          "(an nftables owner match), or set the instance's hop limit and block it by uid",
        () => checkImdsReach(config, ctx.configPath),
      );
    }
    const target = config && identity &&
      { config, identity, region: config.region ?? identity.region };
    const credentials = await run.after(
      target,
      "credentials",
      'attach an instance role (or set "profile") that allows events:PutEvents',
      async ({ config, region }) => {
        const { describeCredentials } = await import("../aws/eventbridge.ts");
        const provider = credentialsFor(config);
        const detail = await describeCredentials(region, config.profile, provider, budget(config));
        return { value: true, detail };
      },
    );
    const endpoint = await run.after(
      credentials && target,
      "EventBridge endpoint",
      "check outbound HTTPS to the endpoint (security groups, network ACLs, routes, VPC endpoint)",
      async ({ config, region }) => {
        const { resolveEndpoint } = await import("../aws/eventbridge.ts");
        const endpoint = await resolveEndpoint(region, config.endpoint_url);
        const deadline = budget(config);
        const client = config.ca_bundle
          ? Deno.createHttpClient({ caCerts: [await Deno.readTextFile(config.ca_bundle)] })
          : undefined;
        try {
          const response = await raceSignal(
            fetch(endpoint, { signal: deadline.signal, client }),
            deadline.signal,
          );
          await response.body?.cancel();
          return { value: true, detail: `${endpoint} answered (HTTP ${response.status})` };
        } catch (error) {
          const cause = error instanceof DeadlineError
            ? { kind: "timeout" as const, phrase: `no answer within ${config.timeout} s` }
            : networkCause(error);
          throw withFix(
            new Error(`${endpoint}: ${cause.phrase}`),
            endpointAdvice(cause.kind, endpoint, config.timeout),
          );
        } finally {
          client?.close();
        }
      },
    );
    if (ctx.values["send-test"]) {
      await run.after(
        endpoint && target,
        "test event",
        "see the error: it is EventBridge's answer to a real PutEvents call",
        ({ config, identity, region }) => sendTestEvent(config, identity, region, budget(config)),
      );
    }
    return run.failed() ? EXIT.UNAVAILABLE : EXIT.OK;
  },
});

/**
 * The sender runs as its own account: the spool is that account's, and on
 * a systemd host the service's socket listens.
 */
async function checkSender(config: Config): Promise<{ value: true; detail: string }> {
  const [account, owner, systemd] = await Promise.all([
    senderAccount(),
    ownerOf(config.spool_dir).catch(() => undefined),
    systemdBooted(),
  ]);
  if (!owner) throw new Error(`the spool ${config.spool_dir} does not exist`);
  if (account && owner.uid !== account.uid) {
    throw new Error(
      `the spool ${config.spool_dir} belongs to uid ${owner.uid}, not ${SENDER_ACCOUNT} ` +
        `(uid ${account.uid}): the sender would run as uid ${owner.uid}`,
    );
  }
  if (!account && systemd) {
    throw new Error(
      `there is no ${SENDER_ACCOUNT} account, which tattle-sender.service runs as ` +
        "(contrib/sysusers.d/tattle.conf creates it)",
    );
  }
  const who = account ? `as ${SENDER_ACCOUNT} (uid ${account.uid})` : "as root (no tattle account)";
  if (!systemd) return { value: true, detail: `hooks start it ${who}` };
  await poke(senderSocket(config));
  return {
    value: true,
    detail: `tattle-sender.socket listens at ${senderSocket(config)}; the service runs ${who}`,
  };
}

/**
 * IMDS gives the instance role's credentials to tattle's accounts only:
 * asked from an account with no privileges, it must not.
 */
async function checkImdsReach(
  config: Config,
  configPath: string,
): Promise<{ value: true; detail: string }> {
  const probe = tattleCommand(
    ["doctor", "--imds-probe", config.imds_endpoint, `--timeout=${config.timeout}`],
    config,
    configPath,
  );
  const reach = await reachAsUnprivileged(probe, config.timeout * 1000);
  const who = `${UNPRIVILEGED.name} (uid ${UNPRIVILEGED.uid})`;
  if (reach.got) {
    throw new Error(
      `${who} got the instance role's credentials from IMDS at ${config.imds_endpoint}: any ` +
        "local user can publish events as tattle (a root login, from anywhere), so events are " +
        "only as trustworthy as the host's least privileged user",
    );
  }
  return { value: true, detail: `${who} gets no role credentials: ${reach.why}` };
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
  const line = stack
    .flatMap((f) => f.directives.map((d) => ({ file: f.file, d })))
    .find(({ d }) =>
      d.type === "session" && moduleName(d.module) === "pam_exec.so" && /\btattle\b/.test(d.raw)
    );
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
  const record = {
    v: 1 as const,
    event_id: crypto.randomUUID(),
    time: new Date().toISOString(),
    hostname: Deno.hostname(),
    session: {
      state: "test" as const,
      user: "tattle-doctor",
      rhost: "",
      service: "tattle-doctor",
      tty: "",
      truncated: [],
    },
  };
  const sink = await sinkFor(config, region);
  try {
    const [delivery] = await sink.send(
      [await buildEvent(record, identity, config, VERSION)],
      deadline.signal,
    );
    if (!delivery.ok) throw new Error(describeFailure(sink, delivery, config.timeout));
    return { value: true, detail: `sent, EventId ${delivery.id ?? "(none given)"}` };
  } finally {
    sink.close();
  }
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
      print(`  what to do: ${(error as { fix?: string })?.fix ?? fix}`);
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
    /** Shows a check that cannot run here, and why. */
    skip(name: string, why: string): void {
      print(`- ${name}: skipped (${why})`);
    },
    failed: () => failed,
  };
}

function ms(started: number): string {
  return `${Math.round(performance.now() - started)} ms`;
}

/** `error`, carrying the advice that fits it (the check's own advice is the fallback). */
function withFix(error: unknown, fix: string | undefined): unknown {
  if (fix !== undefined && error instanceof Error) Object.assign(error, { fix });
  return error;
}

/** What to do about an IMDS failure, by its cause. */
function imdsAdvice(error: unknown, config: Config): string | undefined {
  const message = messageOf(error);
  const at = config.imds_endpoint;
  if (/refused an IMDSv2 token/.test(message)) {
    return "turn IMDSv2 on for the instance (aws ec2 modify-instance-metadata-options " +
      "--http-endpoint enabled --http-tokens required); tattle never uses IMDSv1";
  }
  if (/answered HTTP/.test(message)) return `check imds_endpoint (${at}): it is not IMDS`;
  const { kind } = networkCause(error);
  if (/before the timeout/.test(message) || kind === "timeout") {
    return `nothing answered at ${at} within ${config.timeout} s: on EC2 check the metadata ` +
      `options (http-endpoint enabled) and any firewall rule on 169.254.169.254; ${OUTSIDE_EC2_HINT}`;
  }
  if (kind === "refused" || kind === "dns" || kind === "unreachable" || kind === "reset") {
    return `nothing serves IMDS at ${at}: on EC2 turn the metadata endpoint on ` +
      `(aws ec2 modify-instance-metadata-options --http-endpoint enabled) and check ` +
      `imds_endpoint; ${OUTSIDE_EC2_HINT}`;
  }
  return undefined;
}

/** What to do when the EventBridge endpoint does not answer, by the cause. */
function endpointAdvice(kind: NetworkCause, endpoint: string, timeout: number): string {
  const host = new URL(endpoint).host;
  switch (kind) {
    case "dns":
      return `${host} does not resolve: check region and endpoint_url, and the host's DNS ` +
        "(in a VPC without internet access, an EventBridge interface endpoint with private DNS)";
    case "refused":
      return `nothing listens at ${endpoint}: check endpoint_url (or the VPC endpoint's address)`;
    case "tls":
      return `the certificate of ${host} is not trusted: for a private endpoint set ca_bundle ` +
        "to the PEM file of its CA (tattle trusts the system's CAs and ca_bundle, nothing else)";
    case "timeout":
      return `no answer from ${host} within ${timeout} s: allow outbound HTTPS to it ` +
        "(security groups, network ACLs, routes through a NAT gateway, or a VPC endpoint)";
    default:
      return `check the network path to ${host} (security groups, network ACLs, routes)`;
  }
}
