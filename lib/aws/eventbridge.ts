/**
 * The EventBridge sink: PutEvents with one client for the sink's life, so a
 * run fetches credentials once and reuses its connections (I/O).
 *
 * Requests go through `fetch` (the SDK's FetchHttpHandler), not `node:http`:
 * the runtime applies the NODE_DEBUG it saw at start to its Node layer, and
 * that would print tokens and signatures. The SDK's own retries are off:
 * the caller retries with the spool in hand. A failed request is told apart
 * from an entry the service rejected: only the latter goes to `failed/`.
 *
 * @module
 */

import {
  EventBridgeClient,
  type EventBridgeClientConfig,
  PutEventsCommand,
} from "@aws-sdk/client-eventbridge";
import { FetchHttpHandler } from "@smithy/fetch-http-handler";
import type { Delivery, Sink } from "../delivery/sink.ts";
import type { SessionEvent } from "../event/detail.ts";
import { EVENTBRIDGE_LIMITS } from "../config/settings.ts";
import { type Deadline, DeadlineError, raceSignal } from "../util/deadline.ts";
import { messageOf, networkFailure } from "../util/errors.ts";
import { entrySize, putEventsEntry } from "./entry.ts";

/** How to reach EventBridge. */
export interface EventBridgeOptions {
  region: string;
  /** Overrides the regional endpoint (VPC endpoints, tests). */
  endpoint?: string;
  /** The bus events go to; the default bus when unset. */
  eventBus?: string;
  /** Credentials or a provider; the SDK's default chain when unset. */
  credentials?: EventBridgeClientConfig["credentials"];
  /** The shared-config profile for the default chain. */
  profile?: string;
  /** Path of a PEM CA bundle to trust besides the public roots. */
  caBundle?: string;
}

/** Entry error codes that no retry can fix. */
const REJECTED_ENTRY_CODES = new Set([
  "MalformedDetail",
  "InvalidArgument",
  "ValidationException",
  "SerializationException",
]);

/** Entry error codes that someone must act on (the IAM policy). */
const HELD_ENTRY_CODES = new Set(["AccessDeniedException", "NotAuthorizedForSourceException"]);

/** Request errors that a later attempt can clear. */
const RETRYABLE_ERRORS = new Set([
  "ThrottlingException",
  "Throttling",
  "TooManyRequestsException",
  "InternalException",
  "InternalFailure",
  "ServiceUnavailable",
  "RequestTimeout",
  "RequestTimeoutException",
  "TimeoutError",
  "ExpiredTokenException",
  "ImdsError",
]);

/** What to do about a request the service refused, by error code. */
const FIXES: Record<string, string> = {
  AccessDeniedException:
    "give the instance role events:PutEvents for this source and bus (contrib/iam-policy.json)",
  NotAuthorizedForSourceException:
    "give the instance role events:PutEvents for this source (contrib/iam-policy.json)",
  ValidationException: 'check "event_bus", "source" and "detail_type" in the config',
  ResourceNotFoundException: 'the event bus does not exist: check "event_bus" in the config',
  NoCredentials: 'attach an instance role, or set "profile" in the config',
};

/** An EventBridge sink for `options`; close it when the run ends. */
export async function eventBridgeSink(options: EventBridgeOptions): Promise<Sink> {
  const client = new EventBridgeClient({
    region: options.region,
    endpoint: options.endpoint,
    credentials: options.credentials,
    profile: options.profile,
    maxAttempts: 1,
    requestHandler: await fetchHandler(options.caBundle),
  });
  const name = `EventBridge at ${await endpointOf(client, options)}`;
  return {
    name,
    maxBatch: EVENTBRIDGE_LIMITS.entriesPerCall,
    maxBatchBytes: EVENTBRIDGE_LIMITS.requestBytes,
    size: (event) => entrySize(putEventsEntry(event, options.eventBus)),
    send: (events, signal) => sendBatch(client, events, options.eventBus, signal),
    close: () => client.destroy(),
  };
}

async function sendBatch(
  client: EventBridgeClient,
  events: SessionEvent[],
  eventBus: string | undefined,
  signal: AbortSignal,
): Promise<Delivery[]> {
  const command = new PutEventsCommand({
    Entries: events.map((e) => ({ ...putEventsEntry(e, eventBus), Time: new Date(e.time) })),
  });
  try {
    const output = await raceSignal(client.send(command, { abortSignal: signal }), signal);
    return events.map((_, i) => entryDelivery(output.Entries?.[i]));
  } catch (error) {
    const failure = requestFailure(error);
    return events.map(() => failure);
  }
}

function entryDelivery(
  entry: { EventId?: string; ErrorCode?: string; ErrorMessage?: string } | undefined,
): Delivery {
  if (entry?.EventId && !entry.ErrorCode) return { ok: true, id: entry.EventId };
  const code = entry?.ErrorCode ?? "MissingResult";
  const message = entry?.ErrorMessage ?? "EventBridge returned no EventId for the entry";
  const disposition = REJECTED_ENTRY_CODES.has(code)
    ? "reject"
    : HELD_ENTRY_CODES.has(code)
    ? "hold"
    : "retry";
  return { ok: false, disposition, code, message: withFix(code, message) };
}

/** Classifies a PutEvents request that failed as a whole: never `reject`. */
export function requestFailure(error: unknown): Delivery & { ok: false } {
  if (error instanceof DeadlineError || (error as Error)?.name === "AbortError") {
    return { ok: false, disposition: "retry", code: "Timeout", message: "no answer in time" };
  }
  const e = error as {
    name?: string;
    $metadata?: { httpStatusCode?: number; clockSkewCorrected?: boolean };
  };
  const name = e?.name ?? "Error";
  const status = e?.$metadata?.httpStatusCode;
  if (name === "CredentialsProviderError") {
    return {
      ok: false,
      disposition: "hold",
      code: "NoCredentials",
      message: withFix("NoCredentials", messageOf(error)),
    };
  }
  if (status === undefined && name !== "ImdsError") {
    return { ok: false, disposition: "retry", code: name, message: networkFailure(error) };
  }
  // The SDK moved its clock offset to the service's Date: the next attempt is signed right.
  const retry = RETRYABLE_ERRORS.has(name) || (status !== undefined && status >= 500) ||
    e.$metadata?.clockSkewCorrected === true;
  const message = status === undefined ? messageOf(error) : `HTTP ${status}: ${messageOf(error)}`;
  return {
    ok: false,
    disposition: retry ? "retry" : "hold",
    code: name,
    message: withFix(name, message),
  };
}

function withFix(code: string, message: string): string {
  return FIXES[code] ? `${message} (${FIXES[code]})` : message;
}

/**
 * The SDK's fetch handler, trusting `caBundle` (a PEM file) besides the
 * public roots when given.
 */
async function fetchHandler(caBundle: string | undefined): Promise<FetchHttpHandler> {
  if (!caBundle) return new FetchHttpHandler({});
  const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(caBundle)] });
  return new FetchHttpHandler({ requestInit: () => ({ client }) as RequestInit });
}

/** The endpoint the client sends to, as the SDK itself resolves it for the region. */
async function endpointOf(client: EventBridgeClient, options: EventBridgeOptions): Promise<string> {
  if (options.endpoint) return options.endpoint;
  try {
    const resolved = await client.config.endpointProvider({
      Region: options.region,
      UseDualStack: false,
      UseFIPS: false,
    });
    return resolved.url.origin;
  } catch {
    return `the ${options.region} endpoint`;
  }
}

/** The endpoint the SDK sends to for `region` (or `override`), for messages and doctor. */
export async function resolveEndpoint(region: string, override?: string): Promise<string> {
  const client = new EventBridgeClient({
    region,
    credentials: { accessKeyId: "", secretAccessKey: "" },
  });
  try {
    return await endpointOf(client, { region, endpoint: override });
  } finally {
    client.destroy();
  }
}

/** Friendly names of the credential sources the SDK records in `$source`. */
const CREDENTIAL_SOURCES: Record<string, string> = {
  CREDENTIALS_ENV_VARS: "environment variables",
  CREDENTIALS_PROFILE: "shared config profile",
  CREDENTIALS_PROFILE_SOURCE_PROFILE: "shared config profile (source_profile)",
  CREDENTIALS_PROFILE_PROCESS: "shared config profile (credential_process)",
  CREDENTIALS_PROFILE_SSO: "shared config profile (SSO)",
  CREDENTIALS_IMDS: "EC2 instance role (IMDS)",
  CREDENTIALS_HTTP: "container credentials endpoint",
  CREDENTIALS_ENV_VARS_STS_WEB_ID_TOKEN: "web identity token",
};

/**
 * Resolves credentials as a sink would and says where they came from, with
 * the access key's last four characters: never the secret.
 */
export async function describeCredentials(
  region: string,
  profile: string | undefined,
  provider: EventBridgeClientConfig["credentials"],
  deadline: Deadline,
): Promise<string> {
  const client = new EventBridgeClient({ region, profile, credentials: provider });
  try {
    const credentials = await raceSignal(client.config.credentials(), deadline.signal) as {
      accessKeyId: string;
      expiration?: Date;
      $source?: Record<string, string>;
    };
    const sources = Object.keys(credentials.$source ?? {}).map((k) => CREDENTIAL_SOURCES[k] ?? k);
    // Not every provider records itself in $source; the chain's order tells the rest.
    if (sources.length === 0) {
      if (provider) sources.push(CREDENTIAL_SOURCES.CREDENTIALS_IMDS);
      else if (Deno.env.get("AWS_ACCESS_KEY_ID")) {
        sources.push(CREDENTIAL_SOURCES.CREDENTIALS_ENV_VARS);
      } else if (profile || Deno.env.get("AWS_PROFILE")) {
        sources.push(CREDENTIAL_SOURCES.CREDENTIALS_PROFILE);
      } else if (credentials.expiration) sources.push(CREDENTIAL_SOURCES.CREDENTIALS_IMDS);
    }
    const from = sources.length > 0 ? sources.join(", ") : "the default chain";
    return `from ${from} (access key …${credentials.accessKeyId.slice(-4)})`;
  } finally {
    client.destroy();
  }
}
