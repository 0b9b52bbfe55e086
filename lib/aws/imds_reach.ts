/**
 * Who can get the instance role's credentials from IMDS (I/O).
 *
 * IMDS answers every local process alike, so on a host where nothing stops
 * it, any user can take the role's credentials and publish an event
 * identical to tattle's. `tattle doctor` runs tattle again as an account
 * with no privileges (`nobody`) and asks, from there, what the sender asks.
 *
 * @module
 */

import { asAccount, type Command } from "../host/privileges.ts";
import { messageOf } from "../util/errors.ts";
import { instanceRoleCredentials } from "./imds.ts";

/** The account the probe runs as: Debian's `nobody` and `nogroup`. */
export const UNPRIVILEGED = { name: "nobody", uid: 65534, gid: 65534 } as const;

/** What the probe found: whether it got credentials, and else why not. Never the credentials. */
export interface Reach {
  got: boolean;
  why?: string;
}

/** Asks IMDS at `endpoint` for the instance role's credentials, as this process. */
export async function roleCredentialsReach(endpoint: string, timeoutMs: number): Promise<Reach> {
  try {
    await instanceRoleCredentials(endpoint, timeoutMs)();
    return { got: true };
  } catch (error) {
    // The inner reason: IMDS's own failure, without the advice for hosts outside EC2.
    return { got: false, why: messageOf((error as Error)?.cause ?? error) };
  }
}

/**
 * Runs `probe` (tattle asking {@link roleCredentialsReach} and printing the
 * answer as JSON) as {@link UNPRIVILEGED}.
 *
 * @throws {Error} when the probe cannot run or says nothing usable.
 */
export async function reachAsUnprivileged(probe: Command, timeoutMs: number): Promise<Reach> {
  const { program, args, env, uid, gid } = asAccount(probe, UNPRIVILEGED);
  const out = await new Deno.Command(program, {
    args,
    env,
    uid,
    gid,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs + 10_000),
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  try {
    const reach = JSON.parse(text) as Reach;
    if (typeof reach.got === "boolean") return reach;
  } catch {
    // said below
  }
  const said = new TextDecoder().decode(out.stderr).trim().split("\n")[0];
  throw new Error(
    `the probe as ${UNPRIVILEGED.name} did not answer (exit ${out.code}${said ? `: ${said}` : ""})`,
  );
}
