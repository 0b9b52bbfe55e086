/**
 * Delivery as production wires it: EventBridge as the sink, the host
 * identity from the cache or IMDS. Tests wire fakes into the same
 * functions instead.
 *
 * @module
 */

import { type Identity, resolveIdentity } from "../aws/identity.ts";
import { sinkFor } from "../aws/sink.ts";
import { VERSION } from "../cli/version.ts";
import type { Config } from "../config/config.ts";
import { buildEvent } from "../event/build.ts";
import type { Deadline } from "../util/deadline.ts";
import type { FlushContext } from "./flush.ts";
import type { CapturedEvent } from "./record.ts";
import { describeFailure } from "./sink.ts";

/** A flush of `config`'s spool within `deadline`. */
export function flushContextFor(
  config: Config,
  deadline: Deadline,
  log: (line: string) => void,
): FlushContext {
  return {
    dir: config.spool_dir,
    settings: config,
    sink: (region) => sinkFor(config, region),
    identity: (step) => resolveIdentity(config, step, log),
    log,
    version: VERSION,
    deadline,
    stepMs: config.timeout * 1000,
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
  const identity: Identity = record.identity ?? await resolveIdentity(config, deadline, log);
  const sink = await sinkFor(config, config.region ?? identity.region);
  try {
    const event = await buildEvent(record, identity, config, VERSION);
    const [delivery] = await sink.send([event], deadline.signal);
    if (!delivery.ok) throw new Error(describeFailure(sink, delivery, config.timeout));
  } finally {
    sink.close();
  }
}
