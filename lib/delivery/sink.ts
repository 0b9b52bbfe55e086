/**
 * Where delivered events go: one interface, so that flush and the sender do
 * not know which service they talk to (EventBridge is one implementation;
 * the tests' fakes are others).
 *
 * A sink sends what it is given once and says what became of each event;
 * retrying, backing off and the spool are the caller's business.
 *
 * @module
 */

import type { SessionEvent } from "../event/detail.ts";

/** What became of one event handed to a sink. */
export type Delivery =
  | {
    ok: true;
    /** The id the sink gave the event, when it gives one (EventBridge's EventId). */
    id?: string;
  }
  | {
    ok: false;
    /**
     * - `retry`: may succeed shortly (network, throttling, 5xx, timeout);
     * - `hold`: will not succeed until someone acts (authorization, a
     *   setting the service rejects): keep the event, stop trying for now;
     * - `reject`: this event will never be accepted (it goes to `failed/`).
     */
    disposition: "retry" | "hold" | "reject";
    code: string;
    message: string;
  };

/** A destination for session events. */
export interface Sink {
  /** Where events go, for messages: "EventBridge at https://events.us-east-1.amazonaws.com". */
  readonly name: string;
  /** The most events one {@link Sink.send} takes. */
  readonly maxBatch: number;
  /** The most bytes one {@link Sink.send} takes, as {@link Sink.size} counts them. */
  readonly maxBatchBytes: number;
  /** An event's size as the sink counts it. */
  size(event: SessionEvent): number;
  /** Sends a batch once; one {@link Delivery} per event, in order. Never throws. */
  send(events: SessionEvent[], signal: AbortSignal): Promise<Delivery[]>;
  /** Releases connections. */
  close(): void;
}

/**
 * Sinks kept for a process's life, one per region: a warm sender reuses
 * its client (connections, credentials) from pass to pass instead of
 * asking IMDS for credentials again before each send. A sink that could not
 * be made is not kept.
 */
export function keptSinks(make: (region: string) => Promise<Sink>) {
  const sinks = new Map<string, Promise<Sink>>();
  return {
    /** The region's sink; its `close` is the process's, in {@link close}. */
    get(region: string): Promise<Sink> {
      let sink = sinks.get(region);
      if (!sink) {
        sinks.set(region, sink = make(region));
        sink.catch(() => sinks.delete(region));
      }
      return sink.then((kept) => ({ ...kept, close() {} }));
    },
    /** Closes every sink kept. */
    async close(): Promise<void> {
      for (const sink of sinks.values()) (await sink.catch(() => undefined))?.close();
      sinks.clear();
    },
  };
}

/** One line for an event a sink did not take, naming the sink. */
export function describeFailure(
  sink: Pick<Sink, "name">,
  failure: Delivery & { ok: false },
  timeoutSeconds: number,
): string {
  return failure.code === "Timeout"
    ? `${sink.name} did not answer within the ${timeoutSeconds} s timeout`
    : `${sink.name} did not accept the event: ${failure.code}: ${failure.message}`;
}
