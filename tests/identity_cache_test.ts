import assert from "node:assert/strict";
import { bootId, readCachedIdentity, writeCachedIdentity } from "../lib/identity_cache.ts";

const identity = {
  region: "us-east-1",
  instanceId: "i-0123456789abcdef0",
  resources: ["arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0"],
};
const IMDS = "http://169.254.169.254";

Deno.test("the identity is cached for this boot and this IMDS endpoint only", async () => {
  const dir = `${await Deno.makeTempDir()}/run`;
  await writeCachedIdentity(dir, "boot-a", IMDS, identity);
  assert.equal((await Deno.stat(`${dir}/identity.json`)).mode! & 0o777, 0o600);
  assert.deepEqual(await readCachedIdentity(dir, "boot-a", IMDS), identity);
  assert.equal(await readCachedIdentity(dir, "boot-b", IMDS), undefined, "another boot");
  assert.equal(
    await readCachedIdentity(dir, "boot-a", "http://127.0.0.1:1"),
    undefined,
    "another IMDS",
  );
  assert.equal(await readCachedIdentity(dir, undefined, IMDS), undefined, "no boot id: no cache");
  await Deno.remove(`${dir}/..`, { recursive: true });
});

Deno.test("a damaged or symlinked cache is ignored", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/identity.json`, "{broken");
  assert.equal(await readCachedIdentity(dir, "boot-a", IMDS), undefined);
  await Deno.remove(`${dir}/identity.json`);
  await Deno.writeTextFile(
    `${dir}/elsewhere.json`,
    JSON.stringify({ boot_id: "boot-a", endpoint: IMDS, identity }),
  );
  await Deno.symlink(`${dir}/elsewhere.json`, `${dir}/identity.json`);
  assert.equal(await readCachedIdentity(dir, "boot-a", IMDS), undefined);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("this machine's boot id is read from the kernel", async () => {
  assert.match((await bootId()) ?? "", /^[0-9a-f-]{36}$/);
});
