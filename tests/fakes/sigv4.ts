/**
 * Verifies an AWS Signature Version 4 Authorization header, as a real AWS
 * endpoint would, for the fake servers.
 *
 * @module
 */

import { createHash, createHmac } from "node:crypto";

/** The parts of a request that SigV4 signs. */
export interface SignedRequest {
  method: string;
  path: string;
  query: string;
  headers: Headers;
  body: Uint8Array;
}

/** Who signed and for what, when the signature is valid. */
export interface SignatureScope {
  accessKeyId: string;
  region: string;
  service: string;
}

const AUTH =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

/**
 * Checks the request's signature with `secretFor(accessKeyId)`; returns the
 * scope, or a string saying what is wrong.
 */
export function verifySigV4(
  request: SignedRequest,
  secretFor: (accessKeyId: string) => string | undefined,
): SignatureScope | string {
  const match = AUTH.exec(request.headers.get("authorization") ?? "");
  if (!match) return "missing or malformed Authorization header";
  const [, accessKeyId, date, region, service, signedHeaders, signature] = match;
  const secret = secretFor(accessKeyId);
  if (secret === undefined) return `unknown access key ${accessKeyId}`;
  const amzDate = request.headers.get("x-amz-date") ?? "";
  if (!amzDate.startsWith(date)) return "X-Amz-Date does not match the credential scope";
  const names = signedHeaders.split(";");
  if (!names.includes("host")) return "host is not signed";
  const canonicalHeaders = names
    .map((name) => `${name}:${(request.headers.get(name) ?? "").trim().replace(/\s+/g, " ")}\n`)
    .join("");
  const canonicalRequest = [
    request.method,
    request.path,
    request.query,
    canonicalHeaders,
    signedHeaders,
    sha256Hex(request.body),
  ].join("\n");
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256Hex(canonicalRequest)].join("\n");
  let key: Uint8Array = hmac(`AWS4${secret}`, date);
  for (const part of [region, service, "aws4_request"]) key = hmac(key, part);
  const expected = createHmac("sha256", key).update(stringToSign).digest("hex");
  if (expected !== signature) return "signature does not match";
  return { accessKeyId, region, service };
}

function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

function hmac(key: string | Uint8Array, data: string): Uint8Array {
  return createHmac("sha256", key).update(data).digest();
}
