/**
 * Property test: random bytes in every input variable never crash tattle.
 * Each run yields a valid event (Detail a JSON object within EventBridge's
 * limit) or a clean exit-64 usage error.
 */

import assert from "node:assert/strict";
import { envFrom } from "../lib/capture/environment.ts";
import { EXIT, TattleError } from "../lib/util/errors.ts";
import { DEFAULTS } from "../lib/config/config.ts";
import { entrySize, putEventsEntry } from "../lib/aws/entry.ts";
import { readSession } from "../lib/capture/pam.ts";
import { EVENTBRIDGE_LIMITS } from "../lib/config/settings.ts";
import { buildEvent } from "../lib/event/build.ts";
import { DETAIL } from "../lib/event/detail.ts";
import keys from "./fixtures/ssh_keys.json" with { type: "json" };
import { record } from "./support/records.ts";

const RUNS_PER_VARIABLE = 10_000;
const VARIABLES = [
  "PAM_TYPE",
  "PAM_USER",
  "PAM_RHOST",
  "PAM_SERVICE",
  "PAM_TTY",
  "SSH_CONNECTION",
  "SSH_AUTH_INFO_0",
];
const VALID: Record<string, string> = {
  PAM_TYPE: "open_session",
  PAM_USER: "alice",
  PAM_RHOST: "203.0.113.9",
  PAM_SERVICE: "sshd",
  PAM_TTY: "ssh",
  SSH_CONNECTION: "203.0.113.9 50022 10.0.0.12 22",
  SSH_AUTH_INFO_0: `publickey ${keys.keys[0].key_type} ${keys.keys[0].blob}\n`,
};

/** A small deterministic PRNG (mulberry32), so a failure can be replayed from its seed. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const decoder = new TextDecoder("utf-8", { fatal: false });

/** Random NUL-free bytes (env values cannot hold NUL), sometimes around a valid value. */
function randomValue(random: () => number, valid: string): string {
  const long = random() < 0.05;
  const length = Math.floor(random() * (long ? 20_000 : 300));
  const bytes = Uint8Array.from({ length }, () => 1 + Math.floor(random() * 255));
  const noise = decoder.decode(bytes); // what the env reader returns for invalid UTF-8
  const shape = random();
  if (shape < 0.2) return valid + noise;
  if (shape < 0.4) return noise + valid;
  if (shape < 0.5) return valid.slice(0, Math.floor(random() * valid.length)) + noise.slice(0, 3);
  return noise;
}

Deno.test(`${RUNS_PER_VARIABLE} random byte strings per variable: valid event or exit 64`, async () => {
  for (const [index, variable] of VARIABLES.entries()) {
    const random = prng(0x7a771e + index);
    let events = 0;
    let usage = 0;
    for (let run = 0; run < RUNS_PER_VARIABLE; run++) {
      const env = { ...VALID, [variable]: randomValue(random, VALID[variable]) };
      let session;
      try {
        session = readSession(envFrom(env));
      } catch (error) {
        assert(error instanceof TattleError, `${variable} run ${run}: ${error}`);
        assert.equal(error.exitCode, EXIT.USAGE);
        usage++;
        continue;
      }
      // The same path a spooled event takes to its entry, SSH_AUTH_INFO_0 parsing included.
      const captured = record(0, { session });
      const event = await buildEvent(captured, captured.identity!, DEFAULTS, "fuzz");
      const entry = putEventsEntry(event);
      // The Detail is what its declaration says, and survives the trip through JSON.
      assert.deepEqual(
        DETAIL.parse(JSON.parse(entry.Detail)),
        event.detail,
        `${variable} run ${run}`,
      );
      assert(
        entrySize(entry) < EVENTBRIDGE_LIMITS.requestBytes,
        `${variable} run ${run}: ${entrySize(entry)} bytes`,
      );
      events++;
    }
    assert.equal(events + usage, RUNS_PER_VARIABLE);
    if (variable !== "PAM_TYPE") assert.equal(usage, 0, `${variable} never changes PAM_TYPE`);
  }
});
