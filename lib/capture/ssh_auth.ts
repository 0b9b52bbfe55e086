/**
 * SSH_AUTH_INFO_0: how the user authenticated, as OpenSSH (>= 7.6) reports it
 * to the PAM session stack (pure).
 *
 * OpenSSH writes one line per completed method: `publickey <type> <base64 blob>`
 * for keys and certificates, the bare method name (`password`,
 * `keyboard-interactive`, …) otherwise. tattle reports the key's fingerprint
 * and never the key itself.
 *
 * @module
 */

import type { AuthDetail } from "../event/detail.ts";

const METHOD = /^[a-z][a-z0-9-]{0,63}(@[a-z0-9.-]{1,64})?$/;
const KEY_TYPE = /^[a-z0-9@.-]{1,64}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Parses SSH_AUTH_INFO_0. Lines that are not what OpenSSH writes are ignored;
 * `undefined` when no line is usable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAuthInfo } from "./ssh_auth.ts";
 * assert.deepEqual(await parseAuthInfo("password\nkeyboard-interactive\n"), {
 *   method: "password",
 *   methods: ["password", "keyboard-interactive"],
 * });
 * assert.equal(await parseAuthInfo("publickey ssh-ed25519 not-base64!"), undefined);
 * ```
 */
export async function parseAuthInfo(text: string): Promise<AuthDetail | undefined> {
  const parsed = await Promise.all(text.split("\n").map(parseLine));
  const methods = parsed.filter((m) => m !== undefined);
  if (methods.length === 0) return undefined;
  const primary = methods.find((m) => m.key_fingerprint) ?? methods[0];
  const detail: AuthDetail = { ...primary };
  if (methods.length > 1) detail.methods = methods.map((m) => m.method);
  return detail;
}

async function parseLine(line: string): Promise<AuthDetail | undefined> {
  const [method, keyType, blob, ...rest] = line.trim().split(" ");
  if (!METHOD.test(method)) return undefined;
  if (method !== "publickey" && method !== "hostbased") {
    return keyType === undefined ? { method } : undefined;
  }
  if (rest.length > 0 || !keyType || !blob || !KEY_TYPE.test(keyType)) return undefined;
  const fingerprint = await keyFingerprint(keyType, blob);
  return fingerprint ? { method, key_type: keyType, key_fingerprint: fingerprint } : undefined;
}

/**
 * The SHA-256 fingerprint `ssh-keygen -l` prints for a public key or
 * certificate given as OpenSSH's base64 blob, or `undefined` when the blob is
 * not a well-formed key of that type. A certificate's fingerprint is its
 * key's, as OpenSSH computes it.
 */
export async function keyFingerprint(
  keyType: string,
  base64Blob: string,
): Promise<string | undefined> {
  if (!BASE64.test(base64Blob)) return undefined;
  const blob = Uint8Array.from(atob(base64Blob), (c) => c.charCodeAt(0));
  const key = keyType.endsWith(CERT_SUFFIX) ? certifiedKey(blob) : blob;
  if (!key || !isPlainKey(key, plainType(keyType))) return undefined;
  // Web Crypto, not node:crypto: importing the latter costs every run ~14 ms.
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", key.slice()));
  return `SHA256:${btoa(String.fromCharCode(...digest)).replace(/=+$/, "")}`;
}

const CERT_SUFFIX = "-cert-v01@openssh.com";

/** `ssh-ed25519-cert-v01@openssh.com` → `ssh-ed25519`; security-key types keep their domain. */
function plainType(keyType: string): string {
  if (!keyType.endsWith(CERT_SUFFIX)) return keyType;
  const base = keyType.slice(0, -CERT_SUFFIX.length);
  return base.startsWith("sk-") ? `${base}@openssh.com` : base;
}

/** How many SSH strings/mpints follow the type name in each plain key blob. */
const KEY_FIELDS: Record<string, number> = {
  "ssh-ed25519": 1,
  "ssh-rsa": 2,
  "ssh-dss": 4,
  "ecdsa-sha2-nistp256": 2,
  "ecdsa-sha2-nistp384": 2,
  "ecdsa-sha2-nistp521": 2,
  "sk-ssh-ed25519@openssh.com": 2,
  "sk-ecdsa-sha2-nistp256@openssh.com": 3,
};

/**
 * The plain key blob inside a certificate blob: the certificate's type,
 * a nonce, then the key's own fields (PROTOCOL.certkeys).
 */
function certifiedKey(cert: Uint8Array): Uint8Array | undefined {
  const type = readString(cert, 0);
  if (!type) return undefined;
  const keyType = plainType(type.text);
  const fields = KEY_FIELDS[keyType];
  const nonce = readString(cert, type.end);
  if (!fields || !nonce) return undefined;
  const parts: Uint8Array[] = [sshString(new TextEncoder().encode(keyType))];
  let offset = nonce.end;
  for (let i = 0; i < fields; i++) {
    const field = readString(cert, offset);
    if (!field) return undefined;
    parts.push(cert.subarray(offset, field.end));
    offset = field.end;
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
}

/** Whether `blob` is a plain key of `type`: its name, then exactly its fields. */
function isPlainKey(blob: Uint8Array, type: string): boolean {
  const name = readString(blob, 0);
  if (name?.text !== type) return false;
  const fields = KEY_FIELDS[type];
  if (fields === undefined) return true; // a type newer than this list: trust the name
  let offset = name.end;
  for (let i = 0; i < fields; i++) {
    const field = readString(blob, offset);
    if (!field) return false;
    offset = field.end;
  }
  return offset === blob.length;
}

function readString(
  buf: Uint8Array,
  offset: number,
): { text: string; end: number } | undefined {
  if (offset + 4 > buf.length) return undefined;
  const length = new DataView(buf.buffer, buf.byteOffset + offset, 4).getUint32(0);
  const end = offset + 4 + length;
  if (end > buf.length) return undefined;
  return { text: new TextDecoder().decode(buf.subarray(offset + 4, end)), end };
}

function sshString(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + bytes.length);
  new DataView(out.buffer).setUint32(0, bytes.length);
  out.set(bytes, 4);
  return out;
}
