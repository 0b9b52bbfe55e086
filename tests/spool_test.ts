import assert from "node:assert/strict";
import {
  droppedCount,
  enforceLimit,
  prepareSpool,
  recordName,
  removeStaleTemporaries,
  spoolList,
  spoolQuarantine,
  spoolRead,
  spoolWrite,
} from "../lib/delivery/spool.ts";
import { record } from "./support/records.ts";

async function tempSpool(): Promise<string> {
  const dir = `${await Deno.makeTempDir({ prefix: "tattle-spool-" })}/spool`;
  await prepareSpool(dir);
  return dir;
}

Deno.test("the spool directory is 0700 and records 0644: the sender's account reads them, nobody else reaches them", async () => {
  const dir = await tempSpool();
  const name = await spoolWrite(dir, record(1));
  assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
  assert.equal((await Deno.stat(`${dir}/failed`)).mode! & 0o777, 0o700);
  assert.equal((await Deno.stat(`${dir}/${name}`)).mode! & 0o777, 0o644);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("records round-trip and list oldest first; temporaries are never listed", async () => {
  const dir = await tempSpool();
  const records = [record(3), record(1), record(2)];
  for (const r of records) await spoolWrite(dir, r);
  await Deno.writeTextFile(`${dir}/.tmp-partial`, '{"v":1,');
  const names = await spoolList(dir);
  assert.deepEqual(names, [records[1], records[2], records[0]].map(recordName));
  assert.deepEqual(await spoolRead(dir, names[0]), records[1]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a killed writer's temporary file is cleaned up once stale", async () => {
  const dir = await tempSpool();
  await Deno.writeTextFile(`${dir}/.tmp-old`, "{");
  await removeStaleTemporaries(dir, Date.now());
  assert(await Deno.lstat(`${dir}/.tmp-old`), "fresh temporaries are left to their writer");
  await removeStaleTemporaries(dir, Date.now() + 11 * 60_000);
  await assert.rejects(Deno.lstat(`${dir}/.tmp-old`), Deno.errors.NotFound);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("symlinks and corrupt files are refused with a reason", async () => {
  const dir = await tempSpool();
  const secret = `${dir}/../secret.json`;
  await Deno.writeTextFile(secret, JSON.stringify(record(1)));
  await Deno.symlink(secret, `${dir}/000000000000001-link.json`);
  await assert.rejects(spoolRead(dir, "000000000000001-link.json"), /is a symlink/);
  await Deno.writeTextFile(`${dir}/000000000000002-bad.json`, "{not json");
  await assert.rejects(spoolRead(dir, "000000000000002-bad.json"), /not JSON/);
  await Deno.writeTextFile(`${dir}/000000000000003-bad.json`, '{"v":1,"event_id":"x"}');
  await assert.rejects(spoolRead(dir, "000000000000003-bad.json"), /bad record: time/);
  await spoolQuarantine(dir, "000000000000002-bad.json", "unreadable: not JSON");
  assert.equal(
    await Deno.readTextFile(`${dir}/failed/000000000000002-bad.json.reason`),
    "unreadable: not JSON\n",
  );
  await Deno.remove(`${dir}/..`, { recursive: true });
});

Deno.test("beyond the limit the oldest are dropped and counted", async () => {
  const dir = await tempSpool();
  const records = Array.from({ length: 5 }, (_, n) => record(n));
  for (const r of records) await spoolWrite(dir, r);
  const dropped = await enforceLimit(dir, 3);
  assert.deepEqual(dropped, records.slice(0, 2).map(recordName));
  assert.deepEqual(await spoolList(dir), records.slice(2).map(recordName));
  assert.equal(await droppedCount(dir), 2);
  await enforceLimit(dir, 2);
  assert.equal(await droppedCount(dir), 3);
  await Deno.remove(dir, { recursive: true });
});
