/**
 * The EC2 instance identity, from IMDSv2 (I/O).
 *
 * @module
 */

import { MetadataService } from "@aws-sdk/ec2-metadata-service";
import { imdsFailure } from "./config.ts";
import { type Deadline, DeadlineError, raceSignal } from "./deadline.ts";
import { messageOf, unavailableError } from "./errors.ts";
import type { Identity } from "./event.ts";
import { instanceArn } from "./partition.ts";

/** The fields of the instance identity document tattle uses. */
export interface IdentityDocument {
  accountId: string;
  region: string;
  instanceId: string;
}

/** The identity path, without a leading slash: MetadataService prefixes the endpoint's "/". */
const DOCUMENT_PATH = "latest/dynamic/instance-identity/document";

/**
 * Fetches the instance identity document over IMDSv2 (token first; IMDSv1 is
 * never used) and returns the instance's identity.
 *
 * @throws {TattleError} exit 69 when IMDS does not answer or answers wrongly.
 */
export async function fetchIdentity(endpoint: string, deadline: Deadline): Promise<Identity> {
  const service = new MetadataService({
    endpoint,
    ec2MetadataV1Disabled: true,
    httpOptions: { timeout: Math.max(1, deadline.remaining()) },
    retries: 1,
    backoff: 0.05,
  });
  let text: string;
  try {
    text = await raceSignal(service.request(DOCUMENT_PATH, {}), deadline.signal);
  } catch (error) {
    throw imdsUnavailable(endpoint, error);
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
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  const { accountId, region, instanceId } = raw ?? {};
  const ok = [accountId, region, instanceId].every((v) =>
    typeof v === "string" && /^[A-Za-z0-9-]{1,64}$/.test(v)
  );
  return ok ? { accountId, region, instanceId } as IdentityDocument : undefined;
}

/** Turns the SDK's nested error text into one line naming what went wrong. */
function imdsUnavailable(endpoint: string, error: unknown) {
  const text = messageOf(error);
  const status = /status code (\d{3})/.exec(text)?.[1];
  let what: string;
  if (error instanceof DeadlineError) {
    what = "did not answer before the timeout";
  } else if (/IMDSv1 is disabled|metadata token with status code (403|404|405)/.test(text)) {
    what = "refused an IMDSv2 token (tattle never falls back to IMDSv1)";
  } else if (status) {
    what = `answered HTTP ${status}`;
  } else {
    what = `did not answer: ${text.replace(/^(Error[^:]*: )+/, "")}`;
  }
  return unavailableError(
    imdsFailure(endpoint, what),
    error,
  );
}
