/**
 * `tattle doctor`: checks, in order, everything a delivery needs, printing
 * ✓ or ✗, the time each took and, on ✗, what to do (I/O).
 *
 * @module
 */

import { type Config, OUTSIDE_EC2_HINT } from "./config.ts";
import { loadConfig } from "./config_file.ts";
import { type Deadline, deadlineIn, raceSignal } from "./deadline.ts";
import { EXIT, type ExitCode, messageOf } from "./errors.ts";
import type { Identity } from "./event.ts";
import { eventsEndpoint, partitionOf } from "./partition.ts";
import type { Session } from "./pam.ts";
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
  print: (line: string) => void;
}

interface Check {
  name: string;
  fix: string;
  run(): Promise<string>;
}

/** Runs every check; exit 0 only when all pass. */
export async function doctor(options: DoctorOptions): Promise<ExitCode> {
  let config: Config | undefined;
  let identity: Identity | undefined;
  const budget = (): Deadline => deadlineIn((config?.timeout ?? 2) * 1000);
  const region = () => config!.region ?? identity!.region;

  const checks: Check[] = [
    {
      name: "config",
      fix: "fix the file named above (owned by root, not group/world writable, valid keys)",
      async run() {
        config = await loadConfig(options.configPath, options.configExplicit, options.flags);
        for (const [name, value] of Object.entries(sdkEnvironment(config))) {
          Deno.env.set(name, value);
        }
        await assertTrusted(config.spool_dir, "spool directory");
        await assertTrusted(config.state_dir, "state directory");
        return `${options.configPath}: trusted and valid`;
      },
    },
    {
      name: "identity",
      fix: `check the instance's metadata options (HttpTokens, hop limit); ${OUTSIDE_EC2_HINT}`,
      async run() {
        if (config!.identity === "none") {
          identity = { region: config!.region!, resources: config!.resources };
          return `static: region ${identity.region}, resources [${identity.resources.join(", ")}]`;
        }
        const { fetchIdentity } = await import("./imds.ts");
        identity = await fetchIdentity(config!.imds_endpoint, budget());
        return `IMDSv2 at ${
          config!.imds_endpoint
        }: token accepted, instance ${identity.instanceId}, ` +
          `region ${identity.region}, partition ${partitionOf(identity.region)}`;
      },
    },
    {
      name: "credentials",
      fix: 'attach an instance role (or set "profile") that allows events:PutEvents',
      async run() {
        const { describeCredentials } = await import("./eventbridge.ts");
        return await describeCredentials(region(), config!.profile, budget());
      },
    },
    {
      name: "EventBridge endpoint",
      fix: "check outbound HTTPS to the endpoint (security groups, NACLs, VPC endpoint, proxy)",
      async run() {
        const endpoint = eventsEndpoint(region(), config!.endpoint_url);
        const deadline = budget();
        const response = await raceSignal(
          fetch(endpoint, { signal: deadline.signal }),
          deadline.signal,
        );
        await response.body?.cancel();
        return `${endpoint} answered (HTTP ${response.status})`;
      },
    },
  ];
  if (options.sendTest) {
    checks.push({
      name: "test event",
      fix: "see the error: it is EventBridge's answer to a real PutEvents call",
      async run() {
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
        const [result] = await publish([await entryFor(record, identity!, config!, VERSION)], {
          region: region(),
          endpoint: config!.endpoint_url,
          profile: config!.profile,
          deadline: budget(),
        });
        if (!result.ok) throw new Error(`${result.code}: ${result.message}`);
        return `sent, EventId ${result.eventId}`;
      },
    });
  }

  let failed = false;
  for (const check of checks) {
    if (failed) {
      options.print(`- ${check.name}: skipped (an earlier check failed)`);
      continue;
    }
    const started = performance.now();
    try {
      const detail = await check.run();
      options.print(`✓ ${check.name}: ${detail} (${ms(started)})`);
    } catch (error) {
      failed = true;
      options.print(`✗ ${check.name}: ${messageOf(error)} (${ms(started)})`);
      options.print(`  what to do: ${check.fix}`);
    }
  }
  return failed ? EXIT.UNAVAILABLE : EXIT.OK;
}

function ms(started: number): string {
  return `${Math.round(performance.now() - started)} ms`;
}
