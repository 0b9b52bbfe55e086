import assert from "node:assert/strict";
import { notRoot } from "./support/requires.ts";
import { readCachedIdentity, writeCachedIdentity } from "../lib/aws/identity_cache.ts";
import { bootTime } from "../lib/host/boot.ts";

const identity = {
  region: "us-east-1",
  instanceId: "i-0123456789abcdef0",
  resources: ["arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0"],
};
const IMDS = "http://169.254.169.254";
const BOOT = 1_795_000_000;

Deno.test("the identity is cached for this boot and this IMDS endpoint only", async () => {
  const dir = `${await Deno.makeTempDir()}/state`;
  await Deno.mkdir(dir);
  await writeCachedIdentity(dir, BOOT, IMDS, identity);
  assert.equal((await Deno.stat(`${dir}/identity.json`)).mode! & 0o777, 0o600);
  assert.deepEqual(await readCachedIdentity(dir, BOOT, IMDS), identity);
  assert.deepEqual(
    await readCachedIdentity(dir, BOOT + 30, IMDS),
    identity,
    "the same boot, read later",
  );
  assert.equal(await readCachedIdentity(dir, BOOT + 3600, IMDS), undefined, "another boot");
  assert.equal(
    await readCachedIdentity(dir, BOOT, "http://127.0.0.1:1"),
    undefined,
    "another IMDS",
  );
  assert.equal(await readCachedIdentity(dir, undefined, IMDS), undefined, "no boot time: no cache");
  await Deno.remove(`${dir}/..`, { recursive: true });
});

Deno.test("a damaged, mistyped or symlinked cache is ignored", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/identity.json`, "{broken");
  assert.equal(await readCachedIdentity(dir, BOOT, IMDS), undefined);
  await Deno.writeTextFile(
    `${dir}/identity.json`,
    JSON.stringify({ boot_time: BOOT, endpoint: IMDS, identity: { region: 7 } }),
  );
  assert.equal(await readCachedIdentity(dir, BOOT, IMDS), undefined);
  await Deno.remove(`${dir}/identity.json`);
  await Deno.writeTextFile(
    `${dir}/elsewhere.json`,
    JSON.stringify({ boot_time: BOOT, endpoint: IMDS, identity }),
  );
  await Deno.symlink(`${dir}/elsewhere.json`, `${dir}/identity.json`);
  assert.equal(await readCachedIdentity(dir, BOOT, IMDS), undefined);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the boot time is the clock minus the kernel's uptime", () => {
  assert.equal(bootTime(1_800_000_000_000, () => 5_000), 1_800_000_000 - 5_000);
  assert.equal(
    bootTime(0, () => {
      throw new Deno.errors.NotCapable("no sys");
    }),
    undefined,
  );
  const now = bootTime();
  assert(now !== undefined && Math.abs(now - (Date.now() / 1000 - Deno.osUptime())) < 2);
});

Deno.test("a cache in a directory another account owns is neither read nor written", {
  ignore: notRoot("only root can give a directory away"),
}, async () => {
  const dir = await Deno.makeTempDir();
  await writeCachedIdentity(dir, BOOT, IMDS, identity);
  await Deno.chown(dir, 65534, 65534);
  // Root never opens what another account can replace (a link to a device, a FIFO).
  assert.equal(await readCachedIdentity(dir, BOOT, IMDS), undefined, "not read");
  await Deno.remove(`${dir}/identity.json`);
  await writeCachedIdentity(dir, BOOT, IMDS, identity);
  assert.deepEqual([...Deno.readDirSync(dir)], [], "not written");
  await Deno.remove(dir, { recursive: true });
});
