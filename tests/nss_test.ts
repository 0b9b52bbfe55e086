/** The name service lookup: coreutils' id for real, and its failures through an injected runner. */

import assert from "node:assert/strict";
import { ID_PROGRAM, type IdOutput, resolveAccount, type RunId } from "../lib/capture/nss.ts";

const text = (s: string) => new TextEncoder().encode(s);

Deno.test("root, through this machine's name service: uid 0, and its groups", async () => {
  const account = await resolveAccount("root");
  assert.equal(account?.uid, 0);
  assert(account?.groups.includes("root"), JSON.stringify(account));
});

Deno.test("an unknown user is undefined, not an error", async () => {
  assert.equal(await resolveAccount("no-such-user-tattle-test"), undefined);
});

Deno.test("a user name that looks like an option is a name: id gets it after --", async () => {
  const seen: string[][] = [];
  const run: RunId = (args) => {
    seen.push(args);
    return Promise.resolve({ success: false, stdout: new Uint8Array() });
  };
  assert.equal(await resolveAccount("--help", run), undefined);
  assert.deepEqual(seen, [["-u", "--", "--help"], ["-Gnz", "--", "--help"]]);
  assert.equal(await resolveAccount("--help"), undefined, `real ${ID_PROGRAM} too`);
});

Deno.test("a name service that hangs: an error naming the bound, within it", async () => {
  const hang: RunId = (_args, signal) =>
    new Promise<IdOutput>((_, reject) =>
      signal.addEventListener("abort", () => reject(signal.reason))
    );
  const started = performance.now();
  await assert.rejects(resolveAccount("alice", hang, 200), /did not answer within 0.2 s/);
  assert(performance.now() - started < 700);
});

Deno.test("a program that cannot run is an error, not an unknown user", async () => {
  const denied: RunId = () => Promise.reject(new Deno.errors.NotCapable("Requires run access"));
  await assert.rejects(
    resolveAccount("alice", denied),
    /\/usr\/bin\/id failed: Requires run access/,
  );
});

Deno.test("a group without a name is listed by number, as id prints it", async () => {
  const run: RunId = (args) =>
    Promise.resolve(
      args[0] === "-u"
        ? { success: true, stdout: text("1001\n") }
        : { success: false, stdout: text("alice\x004242\0") },
    );
  assert.deepEqual(await resolveAccount("alice", run), { uid: 1001, groups: ["4242", "alice"] });
});
