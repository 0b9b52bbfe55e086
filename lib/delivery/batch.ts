/**
 * The next batch of a flush pass: the records that fit one send, with their
 * events built (I/O only through the context's lookups).
 *
 * @module
 */

import { buildEvent } from "../event/build.ts";
import type { Identity } from "../event/identity.ts";
import type { SessionEvent } from "../event/detail.ts";
import type { FlushContext } from "./flush.ts";
import type { CapturedEvent } from "./record.ts";
import type { Sink } from "./sink.ts";

/** A spooled record waiting to be sent. */
export interface Pending {
  name: string;
  record: CapturedEvent;
}

/** The next records that fit one send, with their events. */
export async function nextBatch(
  sink: Sink,
  pending: Pending[],
  identityOf: (p: Pending) => Identity | undefined,
  ctx: FlushContext,
  spoolDropped: number,
): Promise<Array<Pending & { event: SessionEvent }>> {
  const batch = [];
  let bytes = 0;
  const candidates = pending.slice(0, sink.maxBatch);
  // Every user of the batch at once: one name service round, not one per event.
  const accounts = await Promise.all(
    candidates.map((p) => p.record.account ?? ctx.account(p.record.session.user)),
  );
  for (const [i, item] of candidates.entries()) {
    const identity = identityOf(item);
    if (!identity) break;
    const carriesDropped = batch.length === 0 && spoolDropped > 0 ? spoolDropped : undefined;
    const account = accounts[i];
    const event = await buildEvent(
      account ? { ...item.record, account } : item.record,
      identity,
      ctx.settings,
      ctx.version,
      carriesDropped,
    );
    const size = sink.size(event);
    if (batch.length > 0 && bytes + size > sink.maxBatchBytes) break;
    bytes += size;
    batch.push({ ...item, event });
  }
  return batch;
}
