/**
 * A fake Amazon EventBridge that speaks PutEvents over AWS JSON 1.1, checks
 * SigV4 signatures for service `events`, and has switchable faults.
 *
 * @module
 */

import { verifySigV4 } from "./sigv4.ts";

/** Faults the fake can be switched to. */
export type EventBridgeFault =
  | "none"
  | "500" // every request: HTTP 500 InternalException
  | "throttle" // every request: HTTP 400 ThrottlingException
  | "failed-entry" // HTTP 200, FailedEntryCount 1, entry error `entryErrorCode`
  | "access-denied" // HTTP 400 AccessDeniedException
  | "validation" // HTTP 400 ValidationException for the whole request (a bad event bus name)
  | "hang"; // read the request, never answer

/** One entry the fake accepted. */
export interface ReceivedEntry {
  Source: string;
  DetailType: string;
  Resources: string[];
  Detail: string;
  Time?: number;
  EventBusName?: string;
  /** The Detail, parsed. */
  detail: Record<string, unknown>;
  /** The region and access key the request was signed with. */
  signedBy: { accessKeyId: string; region: string };
  /** When the fake accepted it (ms since the epoch). */
  arrivedAt: number;
}

/** A running fake EventBridge. */
export interface FakeEventBridge extends AsyncDisposable {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  fault: EventBridgeFault;
  /** The entry error code for the `failed-entry` fault. */
  entryErrorCode: string;
  /** Requests that failed before reaching PutEvents logic, with the reason. */
  readonly rejected: string[];
  /** Entries accepted, in order. */
  readonly received: ReceivedEntry[];
  /** Requests seen, including faulted ones. */
  requestCount: number;
  /** When each request came (monotonic clock), and the access key it was signed with. */
  readonly requestLog: Array<{ time: number; accessKeyId?: string }>;
  /**
   * Throttles above this many requests a second (a token bucket holding
   * `burst`), answering ThrottlingException as EventBridge does.
   */
  rateLimit?: { perSecond: number; burst: number };
  /**
   * How far the fake's clock is ahead of this machine's (ms). Like
   * EventBridge, the fake refuses a signature more than 5 minutes from its
   * clock and sends its time in `Date`.
   */
  clockOffsetMs: number;
  /** Credentials the fake accepts: access key → secret. */
  readonly credentials: Map<string, string>;
  /**
   * How long the fake waits before it answers a PutEvents whose entries it
   * has already accepted (ms): an answer that comes late, or is lost.
   */
  answerDelayMs: number;
}

/** TLS material the fake serves with `tls: true` (tests/fixtures/tls). */
export const TEST_TLS = {
  ca: new URL("../fixtures/tls/ca.pem", import.meta.url).pathname,
  cert: new URL("../fixtures/tls/server.pem", import.meta.url).pathname,
  key: new URL("../fixtures/tls/server.key", import.meta.url).pathname,
};

/** How the fake listens. */
export interface FakeEventBridgeOptions {
  /** Serve HTTPS with the test certificate for 127.0.0.1 (a client must trust {@link TEST_TLS}.ca). */
  tls?: boolean;
}

/** Starts a fake EventBridge on 127.0.0.1 that accepts the given credentials. */
export function startFakeEventBridge(
  credentials: Record<string, string>,
  options: FakeEventBridgeOptions = {},
): FakeEventBridge {
  const hung: Array<() => void> = [];
  const state = {
    fault: "none" as EventBridgeFault,
    entryErrorCode: "InternalFailure",
    rejected: [] as string[],
    received: [] as ReceivedEntry[],
    requestCount: 0,
    requestLog: [] as Array<{ time: number; accessKeyId?: string }>,
    rateLimit: undefined as { perSecond: number; burst: number } | undefined,
    clockOffsetMs: 0,
    credentials: new Map(Object.entries(credentials)),
    answerDelayMs: 0,
  };
  let tokens = Infinity;
  let refilled = performance.now();
  const admit = () => {
    if (!state.rateLimit) return true;
    const now = performance.now();
    tokens = Math.min(
      state.rateLimit.burst,
      (tokens === Infinity ? state.rateLimit.burst : tokens) +
        (now - refilled) / 1000 * state.rateLimit.perSecond,
    );
    refilled = now;
    if (tokens < 1) return false;
    tokens--;
    return true;
  };

  const tls = options.tls
    ? { cert: Deno.readTextFileSync(TEST_TLS.cert), key: Deno.readTextFileSync(TEST_TLS.key) }
    : {};
  const serveOptions = { hostname: "127.0.0.1", port: 0, onListen() {}, ...tls };
  const server = Deno.serve(serveOptions, async (request) => {
    state.requestCount++;
    state.requestLog.push({
      time: performance.now(),
      accessKeyId: /Credential=([^/]+)\//.exec(request.headers.get("authorization") ?? "")?.[1],
    });
    const body = new Uint8Array(await request.arrayBuffer());
    if (state.fault === "hang") {
      return new Promise<Response>((resolve) =>
        hung.push(() => resolve(new Response(null, { status: 503 })))
      );
    }
    const url = new URL(request.url);
    const reject = (status: number, type: string, message: string) => {
      state.rejected.push(`${type}: ${message}`);
      return awsError(status, type, message);
    };
    if (request.method !== "POST" || url.pathname !== "/") {
      return reject(404, "UnknownOperationException", `${request.method} ${url.pathname}`);
    }
    if (request.headers.get("x-amz-target") !== "AWSEvents.PutEvents") {
      return reject(
        400,
        "UnknownOperationException",
        request.headers.get("x-amz-target") ?? "no target",
      );
    }
    if (request.headers.get("content-type") !== "application/x-amz-json-1.1") {
      return reject(
        400,
        "SerializationException",
        "content type must be application/x-amz-json-1.1",
      );
    }
    // Over HTTP/2 the host is the :authority pseudo-header, which Deno.serve leaves out.
    const headers = new Headers(request.headers);
    if (!headers.has("host")) headers.set("host", url.host);
    const scope = verifySigV4(
      {
        method: request.method,
        path: url.pathname,
        query: url.search.slice(1),
        headers,
        body,
      },
      (key) => state.credentials.get(key),
    );
    if (typeof scope === "string") return reject(403, "InvalidSignatureException", scope);
    const now = Date.now() + state.clockOffsetMs;
    const signedAt = amzDateMs(request.headers.get("x-amz-date") ?? "");
    if (Math.abs(now - signedAt) > 5 * 60_000) {
      const stamp = (ms: number) => new Date(ms).toISOString().replace(/[-:]|\.\d+/g, "");
      state.rejected.push("InvalidSignatureException: signature expired");
      return json(400, {
        __type: "InvalidSignatureException",
        message:
          `Signature expired: ${stamp(signedAt)} is now earlier than ${stamp(now - 300_000)} ` +
          `(${stamp(now)} - 5 min.)`,
      }, new Date(now).toUTCString());
    }
    if (scope.service !== "events") {
      return reject(403, "InvalidSignatureException", `signed for ${scope.service}`);
    }

    if (state.fault === "500") return awsError(500, "InternalException", "fake internal error");
    if (!admit()) return awsError(400, "ThrottlingException", "Rate exceeded");
    if (state.fault === "throttle") return awsError(400, "ThrottlingException", "Rate exceeded");
    if (state.fault === "validation") {
      return awsError(
        400,
        "ValidationException",
        "1 validation error detected: Value at 'entries.1.member.eventBusName' failed to satisfy constraint",
      );
    }
    if (state.fault === "access-denied") {
      return awsError(
        400,
        "AccessDeniedException",
        "User is not authorized to perform: events:PutEvents",
      );
    }

    let input: { Entries?: Array<Record<string, unknown>> };
    try {
      input = JSON.parse(new TextDecoder().decode(body));
    } catch {
      return reject(400, "SerializationException", "body is not JSON");
    }
    const entries = input.Entries ?? [];
    if (entries.length < 1 || entries.length > 10) {
      return reject(400, "ValidationException", "Entries must have 1 to 10 members");
    }
    if (body.length > 256 * 1024) return reject(413, "ValidationException", "request too large");

    const results = entries.map((entry) => {
      if (state.fault === "failed-entry") {
        return { ErrorCode: state.entryErrorCode, ErrorMessage: "fake entry failure" };
      }
      let detail: unknown;
      try {
        detail = JSON.parse(String(entry.Detail));
      } catch {
        detail = undefined;
      }
      if (typeof detail !== "object" || detail === null || Array.isArray(detail)) {
        return { ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed." };
      }
      state.received.push({
        ...(entry as unknown as ReceivedEntry),
        detail: detail as Record<string, unknown>,
        signedBy: { accessKeyId: scope.accessKeyId, region: scope.region },
        arrivedAt: Date.now(),
      });
      return { EventId: crypto.randomUUID() };
    });
    const failed = results.filter((r) => "ErrorCode" in r).length;
    if (state.answerDelayMs > 0) await new Promise((r) => setTimeout(r, state.answerDelayMs));
    return json(200, { Entries: results, FailedEntryCount: failed });
  });

  return Object.assign(state, {
    url: `${options.tls ? "https" : "http"}://127.0.0.1:${server.addr.port}`,
    async [Symbol.asyncDispose]() {
      hung.splice(0).forEach((release) => release());
      await server.shutdown();
    },
  }) as FakeEventBridge;
}

function json(status: number, value: unknown, date = new Date().toUTCString()): Response {
  return new Response(JSON.stringify(value), {
    status,
    headers: {
      "content-type": "application/x-amz-json-1.1",
      "x-amzn-requestid": crypto.randomUUID(),
      date,
    },
  });
}

/** An X-Amz-Date (20261129T120000Z) in ms since the epoch. */
function amzDateMs(value: string): number {
  const m = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(value);
  return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) : NaN;
}

function awsError(status: number, type: string, message: string): Response {
  return json(status, { __type: type, message });
}
