/**
 * A sink whose answers a test scripts: the Sink interface's second
 * implementation, for the faults no real service gives on demand.
 *
 * @module
 */

import type { Delivery, Sink } from "../../lib/delivery/sink.ts";
import type { SessionEvent } from "../../lib/event/detail.ts";

/** What the fake answers to the `call`-th send (0-based). */
export type Script = (events: SessionEvent[], call: number) => Delivery[] | Promise<Delivery[]>;

/** A scripted sink, and what it was given. */
export interface FakeSink extends Sink {
  /** Every batch sent, in order. */
  readonly calls: SessionEvent[][];
  /** When each call came, on the monotonic clock. */
  readonly times: number[];
  /** Every event accepted, in order. */
  readonly accepted: SessionEvent[];
  closed: boolean;
}

/** Accepts everything. */
export const acceptAll: Script = (events) => events.map(() => ({ ok: true }));

/** A sink that answers as `script` says. */
export function fakeSink(script: Script = acceptAll, maxBatch = 10): FakeSink {
  const sink: FakeSink = {
    name: "the fake sink",
    maxBatch,
    maxBatchBytes: 256 * 1024,
    size: (event) => JSON.stringify(event).length,
    calls: [],
    times: [],
    accepted: [],
    closed: false,
    async send(events) {
      const call = sink.calls.length;
      sink.calls.push(events);
      sink.times.push(performance.now());
      const deliveries = await script(events, call);
      deliveries.forEach((d, i) => d.ok && sink.accepted.push(events[i]));
      return deliveries;
    },
    close() {
      sink.closed = true;
    },
  };
  return sink;
}

/** Every event fails the same way. */
export function failing(
  disposition: "retry" | "hold" | "reject",
  code = "FakeFailure",
): Script {
  return (events) => events.map(() => ({ ok: false, disposition, code, message: `fake ${code}` }));
}
