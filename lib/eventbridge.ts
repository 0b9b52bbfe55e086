/**
 * Publishing entries with EventBridge PutEvents (I/O).
 *
 * The SDK's own retries are off (`maxAttempts: 1`): one loop here retries
 * what can succeed on retry, HTTP-level and per-entry alike, inside the run's
 * deadline.
 *
 * Requests go through `fetch` (the SDK's FetchHttpHandler), not `node:http`:
 * the runtime applies the NODE_DEBUG it saw at start to its Node layer, and
 * that would print tokens and signatures.
 *
 * @module
 */

import {
  EventBridgeClient,
  type EventBridgeClientConfig,
  PutEventsCommand,
} from "@aws-sdk/client-eventbridge";
import { FetchHttpHandler } from "@smithy/fetch-http-handler";
import { type Deadline, DeadlineError, raceSignal, sleep } from "./deadline.ts";
import type { EventEntry } from "./event.ts";
import { messageOf, networkFailure } from "./errors.ts";

/** What became of one entry. */
export type EntryResult =
  | { ok: true; eventId: string }
  | { ok: false; code: string; message: string; retryable: boolean };

/** How to reach EventBridge. */
export interface PublishOptions {
  region: string;
  /** Overrides the regional endpoint (tests, VPC endpoints, FIPS). */
  endpoint?: string;
  deadline: Deadline;
  /** The shared-config profile for the default credential chain. */
  profile?: string;
  /** Credentials or a provider; the SDK's default chain when unset. */
  credentials?: EventBridgeClientConfig["credentials"];
  /** Path of a PEM CA bundle to trust besides the public roots. */
  caBundle?: string;
  /** Jitter source, for deterministic tests. */
  random?: () => number;
}

/** Entry error codes that a later attempt can clear. */
const RETRYABLE_ENTRY_CODES = new Set([
  "ThrottlingException",
  "InternalFailure",
  "InternalException",
]);

/** Service error names that a later attempt can clear. */
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
]);

const BASE_BACKOFF_MS = 50;
const MAX_BACKOFF_MS = 800;

/**
 * Sends `entries` (at most 10) and returns one result per entry, in order.
 * Retries throttling, internal failures, 5xx and network errors with jittered
 * exponential backoff until the deadline; never throws.
 */
export async function publish(
  entries: EventEntry[],
  options: PublishOptions,
): Promise<EntryResult[]> {
  const { deadline, random = Math.random } = options;
  const client = new EventBridgeClient({
    region: options.region,
    endpoint: options.endpoint,
    credentials: options.credentials,
    profile: options.profile,
    maxAttempts: 1,
    requestHandler: await fetchHandler(options.caBundle),
  });
  const results: EntryResult[] = entries.map(() => ({
    ok: false,
    code: "NotSent",
    message: "not sent",
    retryable: true,
  }));
  try {
    for (let attempt = 0;; attempt++) {
      const pending = results.flatMap((r, i) => (!r.ok && r.retryable ? [i] : []));
      if (pending.length === 0) return results;
      const outcome = await sendOnce(client, pending.map((i) => entries[i]), deadline);
      pending.forEach((index, k) => results[index] = outcome[k]);
      if (!results.some((r) => !r.ok && r.retryable)) return results;
      const backoff = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** attempt) *
        (0.5 + random() / 2);
      if (deadline.remaining() <= backoff) return results;
      await sleep(backoff, deadline.signal);
    }
  } finally {
    client.destroy();
  }
}

async function sendOnce(
  client: EventBridgeClient,
  entries: EventEntry[],
  deadline: Deadline,
): Promise<EntryResult[]> {
  const command = new PutEventsCommand({
    Entries: entries.map((e) => ({ ...e, Time: new Date(e.Time) })),
  });
  try {
    const output = await raceSignal(
      client.send(command, { abortSignal: deadline.signal }),
      deadline.signal,
    );
    return entries.map((_, i) => entryResult(output.Entries?.[i]));
  } catch (error) {
    const failure = requestFailure(error);
    return entries.map(() => failure);
  }
}

function entryResult(
  entry: { EventId?: string; ErrorCode?: string; ErrorMessage?: string } | undefined,
): EntryResult {
  if (entry?.EventId && !entry.ErrorCode) return { ok: true, eventId: entry.EventId };
  const code = entry?.ErrorCode ?? "MissingResult";
  return {
    ok: false,
    code,
    message: entry?.ErrorMessage ?? "EventBridge returned no EventId for the entry",
    retryable: RETRYABLE_ENTRY_CODES.has(code) || code === "MissingResult",
  };
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

/** Classifies a failed PutEvents request. */
export function requestFailure(error: unknown): EntryResult & { ok: false } {
  if (error instanceof DeadlineError || (error as Error)?.name === "AbortError") {
    return { ok: false, code: "Timeout", message: "no answer before the timeout", retryable: true };
  }
  const e = error as {
    name?: string;
    $metadata?: { httpStatusCode?: number };
    $retryable?: unknown;
  };
  const name = e?.name ?? "Error";
  const status = e?.$metadata?.httpStatusCode;
  if (name === "CredentialsProviderError") {
    return { ok: false, code: "NoCredentials", message: messageOf(error), retryable: false };
  }
  if (name === "ImdsError") {
    return { ok: false, code: "NoCredentials", message: messageOf(error), retryable: true };
  }
  const retryable = Boolean(e?.$retryable) || RETRYABLE_ERRORS.has(name) ||
    (status !== undefined && status >= 500) || status === undefined;
  const message = status === undefined
    ? networkFailure(error)
    : `HTTP ${status}: ${messageOf(error)}`;
  return { ok: false, code: name, message, retryable };
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
 * Resolves credentials through the SDK's default chain and says where they
 * came from, with the access key's last four characters: never the secret.
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
