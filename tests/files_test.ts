import assert from "node:assert/strict";
import { createFile, replaceFile } from "../lib/util/files.ts";

Deno.test("createFile writes a new 0600 file and never replaces one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await createFile(`${dir}/a`, "one");
    await assert.rejects(createFile(`${dir}/a`, "two"), Deno.errors.AlreadyExists);
    assert.equal(await Deno.readTextFile(`${dir}/a`), "one");
    assert.equal((await Deno.stat(`${dir}/a`)).mode! & 0o777, 0o600);
    await createFile(`${dir}/b`, "x".repeat(1 << 20), { mode: 0o644, sync: true });
    assert.equal((await Deno.readTextFile(`${dir}/b`)).length, 1 << 20);
    assert.equal((await Deno.stat(`${dir}/b`)).mode! & 0o777, 0o644);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("replaceFile swaps the whole file, and leaves no temporary when it fails", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await replaceFile(`${dir}/a`, "one");
    await replaceFile(`${dir}/a`, "two");
    assert.equal(await Deno.readTextFile(`${dir}/a`), "two");
    await Deno.mkdir(`${dir}/d`);
    await assert.rejects(replaceFile(`${dir}/d`, "over a directory"));
    await replaceFile(`${dir}/s`, "{}", { tmp: `${dir}/.tmp-s` });
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["a", "d", "s"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
