/** Captured events for tests. */

import type { CapturedEvent } from "../../lib/delivery/record.ts";

/** A captured open by `user<n>`, at second `n` of a fixed minute, with an identity. */
export function record(n: number, overrides: Partial<CapturedEvent> = {}): CapturedEvent {
  return {
    v: 1,
    event_id: crypto.randomUUID(),
    time: new Date(Date.UTC(2026, 10, 28, 12, 0, n)).toISOString(),
    hostname: "host",
    session: {
      state: "opened",
      user: `user${n}`,
      rhost: "203.0.113.9",
      service: "sshd",
      tty: "ssh",
      truncated: [],
    },
    identity: {
      region: "us-east-1",
      instanceId: "i-1",
      resources: ["arn:aws:ec2:us-east-1:1:instance/i-1"],
    },
    ...overrides,
  };
}
