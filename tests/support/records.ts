/** Captured events for tests. */

import type { CapturedEvent } from "../../lib/delivery/record.ts";
import type { SessionEvent } from "../../lib/event/detail.ts";

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

/** A built session event `e-<n>` for sinks, with `extra` Detail fields. */
export function sessionEvent(n = 0, extra: Record<string, unknown> = {}): SessionEvent {
  return {
    source: "com.unbounce.tattle",
    detailType: "SSH connection event detected",
    resources: ["arn:aws:ec2:us-east-1:123456789012:instance/i-1"],
    time: "2026-11-28T12:00:00.000Z",
    detail: {
      username: "alice",
      remote_host: "1.2.3.4",
      session: "opened",
      service: "sshd",
      tty: "ssh",
      hostname: "h",
      event_id: `e-${n}`,
      tattle_version: "test",
      ...extra,
    },
  };
}
