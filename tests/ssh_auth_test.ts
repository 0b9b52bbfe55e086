import assert from "node:assert/strict";
import { keyFingerprint, parseAuthInfo } from "../lib/capture/ssh_auth.ts";
import fixture from "./fixtures/ssh_keys.json" with { type: "json" };

Deno.test("fingerprints match ssh-keygen -l for keys and certificates", async () => {
  for (const key of fixture.keys) {
    assert.equal(await keyFingerprint(key.key_type, key.blob), key.fingerprint, key.name);
  }
});

Deno.test("publickey auth reports method, key type and fingerprint, never the key", async () => {
  const [ed25519] = fixture.keys;
  const auth = await parseAuthInfo(`publickey ${ed25519.key_type} ${ed25519.blob}\n`);
  assert.deepEqual(auth, {
    method: "publickey",
    key_type: "ssh-ed25519",
    key_fingerprint: ed25519.fingerprint,
  });
  assert(!JSON.stringify(auth).includes(ed25519.blob));
});

Deno.test("non-key methods report the method only", async () => {
  assert.deepEqual(await parseAuthInfo("password\n"), { method: "password" });
  assert.deepEqual(await parseAuthInfo("keyboard-interactive"), { method: "keyboard-interactive" });
});

Deno.test("several methods: the key is reported and every method listed", async () => {
  const [, rsa] = fixture.keys;
  const auth = await parseAuthInfo(`publickey ${rsa.key_type} ${rsa.blob}\nkeyboard-interactive\n`);
  assert.equal(auth?.key_fingerprint, rsa.fingerprint);
  assert.deepEqual(auth?.methods, ["publickey", "keyboard-interactive"]);
});

Deno.test("certificates are fingerprinted by their key", async () => {
  const cert = fixture.keys.find((k) => k.key_type.endsWith("-cert-v01@openssh.com"))!;
  const auth = await parseAuthInfo(`publickey ${cert.key_type} ${cert.blob}`);
  assert.equal(auth?.key_type, "ssh-ed25519-cert-v01@openssh.com");
  assert.equal(auth?.key_fingerprint, fixture.keys[0].fingerprint);
});

Deno.test("what OpenSSH does not write is rejected without failing", async () => {
  const [ed25519, rsa] = fixture.keys;
  for (
    const text of [
      "",
      "\n\n",
      "publickey",
      "publickey ssh-ed25519",
      "publickey ssh-ed25519 not-base64!",
      `publickey ssh-rsa ${ed25519.blob}`, // blob of another type
      `publickey ${ed25519.key_type} ${ed25519.blob.slice(0, 20)}`, // truncated blob
      `publickey ssh-ed25519-cert-v01@openssh.com ${rsa.blob}`,
      "PASSWORD",
      'pass"word',
      "password extra words",
      "\u0000\u0001\u0002",
    ]
  ) {
    assert.equal(await parseAuthInfo(text), undefined, JSON.stringify(text));
  }
});
