/**
 * The EC2 instance metadata service, IMDSv2 only, over `fetch` (I/O).
 *
 * Every answer is read with a size bound (IMDS can be answered by anything
 * that owns 169.254.169.254, and an endless body would otherwise fill the
 * memory), every request honours the caller's deadline, a token is fetched
 * once per client, and there is no IMDSv1 fallback: without a token, nothing
 * is asked.
 *
 * Not `@aws-sdk/ec2-metadata-service`: it reads whole bodies without a
 * bound, takes no transport, and fetches a new token for every request.
 *
 * @module
 */

import { type Deadline, DeadlineError, raceSignal } from "../util/deadline.ts";
import { messageOf, networkFailure, unavailableError } from "../util/errors.ts";
import { type Infer, object, string } from "../util/shape.ts";
import type { Identity } from "../event/identity.ts";
import { instanceArn } from "./partition.ts";

/** How to run outside EC2, for messages about IMDS failures. */
export const OUTSIDE_EC2_HINT =
  'outside EC2 set "identity": "none" and "region" in the config (or pass --identity none --region REGION)';

/** One line for an IMDS failure, with how to run outside EC2. */
export function imdsFailure(endpoint: string, what: string): string {
  return `IMDS at ${endpoint} ${what}; ${OUTSIDE_EC2_HINT}`;
}

/** The largest IMDS answer tattle reads; real ones are well under 4 KiB. */
export const MAX_IMDS_BYTES = 64 * 1024;

/** Seconds an IMDSv2 token lives; it outlives any run of tattle. */
const TOKEN_TTL_S = 21600;

/** The fetch function; the global one in production. */
export type Fetch = typeof fetch;

/** A failed IMDS request, phrased for an operator. */
export class ImdsError extends Error {
  constructor(readonly what: string, options?: ErrorOptions) {
    super(what, options);
    this.name = "ImdsError";
  }
}

/** An IMDSv2 client for one run: one token, bounded reads. */
export interface ImdsClient {
  /**
   * GETs `path` (e.g. `/latest/dynamic/instance-identity/document`) with the
   * session token and returns the body.
   *
   * @throws {ImdsError} saying what IMDS did instead of answering.
   */
  get(path: string, signal: AbortSignal): Promise<string>;
}

/** An IMDSv2 client for `endpoint` (`http://169.254.169.254` on EC2). */
export function imdsClient(endpoint: string, fetchFn: Fetch = fetch): ImdsClient {
  let token: Promise<string> | undefined;
  const request = async (path: string, init: RequestInit, signal: AbortSignal) => {
    let response: Response;
    try {
      response = await raceSignal(fetchFn(`${endpoint}${path}`, { ...init, signal }), signal);
    } catch (error) {
      if (error instanceof DeadlineError || signal.aborted) {
        throw new ImdsError("did not answer before the timeout", { cause: error });
      }
      throw new ImdsError(`did not answer: ${networkFailure(error)}`, { cause: error });
    }
    const body = await readBounded(response, signal);
    return { status: response.status, body };
  };
  const fetchToken = async (signal: AbortSignal) => {
    const { status, body } = await request("/latest/api/token", {
      method: "PUT",
      headers: { "x-aws-ec2-metadata-token-ttl-seconds": String(TOKEN_TTL_S) },
    }, signal);
    if (status !== 200 || body === "") {
      throw new ImdsError(
        status === 403 || status === 404 || status === 405
          ? `refused an IMDSv2 token (HTTP ${status}; tattle never falls back to IMDSv1)`
          : `answered HTTP ${status} to the IMDSv2 token request`,
      );
    }
    return body;
  };
  return {
    async get(path, signal) {
      token ??= fetchToken(signal);
      let value: string;
      try {
        value = await token;
      } catch (error) {
        token = undefined; // the next call may try again
        throw error;
      }
      const { status, body } = await request(path, {
        headers: { "x-aws-ec2-metadata-token": value },
      }, signal);
      if (status !== 200) throw new ImdsError(`answered HTTP ${status} for ${path}`);
      return body;
    },
  };
}

/** The body as text, failing once it passes {@link MAX_IMDS_BYTES}. */
async function readBounded(response: Response, signal: AbortSignal): Promise<string> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (true) {
      const { done, value } = await raceSignal(reader.read(), signal);
      if (done) break;
      size += value.length;
      if (size > MAX_IMDS_BYTES) {
        throw new ImdsError(`answered with more than ${MAX_IMDS_BYTES} bytes`);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof ImdsError) throw error;
    throw new ImdsError("did not answer before the timeout", { cause: error });
  } finally {
    reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(size);
  chunks.reduce((at, c) => (bytes.set(c, at), at + c.length), 0);
  return new TextDecoder().decode(bytes);
}

const ID = string({ pattern: /^[A-Za-z0-9-]{1,64}$/, describe: "letters, digits and -" });

/** The fields of the instance identity document tattle uses (others are ignored). */
export const IDENTITY_DOCUMENT = object({ accountId: ID, region: ID, instanceId: ID });

/** The fields of the instance identity document tattle uses. */
export type IdentityDocument = Infer<typeof IDENTITY_DOCUMENT>;

/**
 * Fetches the instance identity document over IMDSv2 and returns the
 * instance's identity.
 *
 * @throws {TattleError} exit 69 when IMDS does not answer or answers wrongly.
 */
export async function fetchIdentity(
  endpoint: string,
  deadline: Deadline,
  client: ImdsClient = imdsClient(endpoint),
): Promise<Identity> {
  let text: string;
  try {
    text = await client.get("/latest/dynamic/instance-identity/document", deadline.signal);
  } catch (error) {
    throw unavailableError(imdsFailure(endpoint, messageOf(error)), error);
  }
  const document = parseIdentityDocument(text);
  if (!document) {
    throw unavailableError(
      `IMDS at ${endpoint} returned an instance identity document without accountId, region and instanceId`,
    );
  }
  return identityOf(document);
}

/** The identity of the instance a document describes. */
export function identityOf(document: IdentityDocument): Identity {
  return {
    region: document.region,
    instanceId: document.instanceId,
    resources: [instanceArn(document.region, document.accountId, document.instanceId)],
  };
}

/** The fields tattle needs from an identity document's JSON, or `undefined`. */
export function parseIdentityDocument(text: string): IdentityDocument | undefined {
  try {
    return IDENTITY_DOCUMENT.parse(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/** Credentials as the AWS SDK takes them from a provider. */
export interface RoleCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

const ROLE_PATH = "/latest/meta-data/iam/security-credentials/";

/**
 * A credential provider for the instance role, for the AWS SDK: each call
 * asks IMDS (the SDK caches the result until shortly before it expires),
 * bounded by `timeoutMs`.
 */
export function instanceRoleCredentials(
  endpoint: string,
  timeoutMs: number,
  client: ImdsClient = imdsClient(endpoint),
): () => Promise<RoleCredentials> {
  return async () => {
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      const role = (await client.get(ROLE_PATH, signal)).split("\n")[0].trim();
      if (!/^[\w+=,.@-]{1,128}$/.test(role)) {
        throw new ImdsError("has no instance role (attach one that allows events:PutEvents)");
      }
      const raw = JSON.parse(await client.get(`${ROLE_PATH}${role}`, signal));
      const expiration = new Date(raw?.Expiration);
      const ok = typeof raw?.AccessKeyId === "string" && typeof raw?.SecretAccessKey === "string" &&
        typeof raw?.Token === "string" && !Number.isNaN(expiration.getTime());
      if (!ok) throw new ImdsError(`returned unusable credentials for role ${role}`);
      return {
        accessKeyId: raw.AccessKeyId,
        secretAccessKey: raw.SecretAccessKey,
        sessionToken: raw.Token,
        expiration,
      };
    } catch (error) {
      throw new ImdsError(
        imdsFailure(endpoint, `gave no instance role credentials: ${messageOf(error)}`),
        { cause: error },
      );
    }
  };
}
