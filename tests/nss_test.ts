/** The name service lookup: coreutils' id for real, and its failures through an injected runner. */

import assert from "node:assert/strict";
import {
  batchedLookup,
  ID_PROGRAM,
  type IdOutput,
  resolveAccount,
  type RunId,
  runId,
} from "../lib/capture/nss.ts";

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

/** The real `id`, counting its runs. */
function countingId() {
  const runs: string[][] = [];
  const run: RunId = (args, signal) => {
    runs.push(args);
    return runId(args, signal);
  };
  return { run, runs };
}

Deno.test("users asked for together go to id together: two runs for a batch, the same answers", async () => {
  const users = ["root", "daemon", "bin", "root"];
  const { run, runs } = countingId();
  const lookUp = batchedLookup(run);
  const batch = await Promise.all(users.map(lookUp));
  assert.deepEqual(runs, [["-u", "--", "root", "daemon", "bin"], [
    "-Gnz",
    "--",
    "root",
    "daemon",
    "bin",
  ]]);
  const alone = await Promise.all(users.map((user) => resolveAccount(user)));
  assert.deepEqual(batch, alone);
  assert.equal(batch[1]?.uid, 1, "daemon");
  // A later turn of the event loop is a new batch.
  assert.deepEqual(await lookUp("daemon"), alone[1]);
  assert.equal(runs.length, 4);
});

Deno.test("a batch with an unknown user is asked again user by user: the others keep their answers", async () => {
  const { run, runs } = countingId();
  const lookUp = batchedLookup(run);
  const [root, nobody, daemon] = await Promise.all(
    ["root", "no-such-user-tattle-test", "daemon"].map(lookUp),
  );
  assert.equal(root?.uid, 0);
  assert.equal(nobody, undefined);
  assert.equal(daemon?.uid, 1);
  assert.equal(runs.length, 2 + 6, "the batch, then each user on its own");
});

Deno.test("a batch whose name service hangs: every lookup fails naming the bound, within it", async () => {
  const hang: RunId = (_args, signal) =>
    new Promise<IdOutput>((_, reject) =>
      signal.addEventListener("abort", () => reject(signal.reason))
    );
  const lookUp = batchedLookup(hang, 200);
  const started = performance.now();
  const results = await Promise.allSettled(["alice", "bob"].map(lookUp));
  assert(performance.now() - started < 700);
  for (const result of results) {
    assert.equal(result.status, "rejected");
    assert.match(String((result as PromiseRejectedResult).reason), /did not answer within 0.2 s/);
  }
});

Deno.test("asked again user by user, one user's failure is that user's alone", async () => {
  const run: RunId = (args) => {
    const users = args.slice(args.indexOf("--") + 1);
    if (users.length > 1) return Promise.resolve({ success: false, stdout: new Uint8Array() });
    if (users[0] === "bob") return Promise.reject(new Error("spawn failed"));
    return Promise.resolve({
      success: true,
      stdout: text(args[0] === "-u" ? "1001\n" : "alice\0"),
    });
  };
  const lookUp = batchedLookup(run);
  const [alice, bob] = await Promise.allSettled(["alice", "bob"].map(lookUp));
  assert.deepEqual(alice, { status: "fulfilled", value: { uid: 1001, groups: ["alice"] } });
  assert.equal(bob.status, "rejected");
  assert.match(
    String((bob as PromiseRejectedResult).reason),
    /\/usr\/bin\/id failed: spawn failed/,
  );
});
