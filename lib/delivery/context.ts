/**
 * Delivery as production wires it: EventBridge as the sink, the host
 * identity from the cache or IMDS. Tests wire fakes into the same
 * functions instead.
 *
 * @module
 */

import { resolveIdentity } from "../aws/identity.ts";
import { batchedLookup, resolveAccount } from "../capture/nss.ts";
import { sinkFor } from "../aws/sink.ts";
import { VERSION } from "../cli/version.ts";
import type { Config } from "../config/config.ts";
import { senderLock } from "../config/paths.ts";
import { buildEvent } from "../event/build.ts";
import type { Account } from "../event/account.ts";
import type { Deadline } from "../util/deadline.ts";
import { messageOf } from "../util/errors.ts";
import type { FlushContext } from "./flush.ts";
import type { CapturedEvent } from "./record.ts";
import { reconcilerFor } from "../reconcile/pass.ts";
import { describeFailure, type Sink } from "./sink.ts";

/**
 * How long the sender and `tattle flush` wait for one answer, at least. No
 * login waits for them, and an answer they stop waiting for may still come:
 * EventBridge has then taken the events, and sending them again would
 * deliver them twice. `timeout` bounds the hook, on the login path.
 */
const BACKGROUND_STEP_S = 10;

/** A flush by the hook: each network step within `timeout`. */
export function flushContextFor(
  config: Config,
  deadline: Deadline,
  log: (line: string) => void,
): FlushContext {
  return contextWithSteps(config, deadline, log, config.timeout);
}

/**
 * A flush by the sender or `tattle flush`, off the login path: each network
 * step within max(`timeout`, {@link BACKGROUND_STEP_S}), reconciliation
 * first. `sink` gives the sink to send with (the sender keeps one for its
 * life).
 */
export function backgroundFlushContextFor(
  config: Config,
  deadline: Deadline,
  log: (line: string) => void,
  sink?: (region: string) => Promise<Sink>,
): FlushContext {
  const stepS = Math.max(config.timeout, BACKGROUND_STEP_S);
  const context = contextWithSteps(config, deadline, log, stepS, sink);
  return { ...context, reconcile: reconcilerFor(config, log, context.account) };
}

function contextWithSteps(
  config: Config,
  deadline: Deadline,
  log: (line: string) => void,
  stepS: number,
  sink = (region: string) => sinkFor(config, region),
): FlushContext {
  return {
    dir: config.spool_dir,
    lock: senderLock(config),
    stateDir: config.state_dir,
    settings: config,
    sink,
    identity: (step) => resolveIdentity(config, step, log),
    account: accountsOf(log),
    log,
    version: VERSION,
    deadline,
    stepMs: stepS * 1000,
    metricsFile: config.metrics_file,
  };
}

/**
 * Sends one captured event now, without the spool.
 *
 * @throws {Error} saying why it was not delivered.
 */
export async function sendDirect(
  config: Config,
  record: CapturedEvent,
  deadline: Deadline,
  log: (line: string) => void,
): Promise<void> {
  const [identity, account] = await Promise.all([
    record.identity ?? resolveIdentity(config, deadline, log),
    record.account ?? accountOf(record.session.user, log),
  ]);
  const sink = await sinkFor(config, config.region ?? identity.region);
  try {
    const event = await buildEvent(
      account ? { ...record, account } : record,
      identity,
      config,
      VERSION,
    );
    const [delivery] = await sink.send([event], deadline.signal);
    if (!delivery.ok) throw new Error(describeFailure(sink, delivery, config.timeout));
  } finally {
    sink.close();
  }
}

/**
 * The user's account from the name service; a failure is said, and the
 * event goes without `uid` and `groups` (a pass asks once per user).
 */
async function accountOf(
  user: string,
  log: (line: string) => void,
  lookUp: (user: string) => Promise<Account | undefined> = resolveAccount,
): Promise<Account | undefined> {
  try {
    return await lookUp(user);
  } catch (error) {
    log(`warning: uid and groups of ${JSON.stringify(user)} left out: ${messageOf(error)}`);
    return undefined;
  }
}

/** A pass's lookups: a batch of events' users go to the name service together. */
function accountsOf(log: (line: string) => void): (user: string) => Promise<Account | undefined> {
  const lookUp = batchedLookup();
  return (user) => accountOf(user, log, lookUp);
}
