/**
 * `deno task compile`: one self-contained binary per target in dist/, with
 * deno.json's `tattle` permission set baked in. (The release workflow adds
 * the packages and writes SHA256SUMS of them all.)
 *
 * `deno compile` downloads its runtime (denort) from dl.deno.land, or uses
 * the file DENORT_BIN names. When neither works this fails with deno's own
 * error: nothing pretends to have built a binary.
 *
 * Usage: deno task compile [TARGET...]
 */

/** The release targets. */
export const TARGETS = ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"];

const root = new URL("../", import.meta.url).pathname;

/** Compiles main.ts for `target` into `outDir`; returns the binary's path. */
export async function compile(target: string, outDir = `${root}dist`): Promise<string> {
  await Deno.mkdir(outDir, { recursive: true });
  const output = `${outDir}/tattle-${target}`;
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: [
      "compile",
      "--quiet",
      "--frozen",
      `--config=${root}deno.json`,
      // The binary runs as root: no V8 code cache in a predictable /tmp path (README).
      "--no-code-cache",
      "--no-prompt",
      "-P=tattle",
      "--target",
      target,
      "--output",
      output,
      `${root}main.ts`,
    ],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) throw new Error(`deno compile for ${target} failed (exit ${code})`);
  return output;
}

if (import.meta.main) {
  const targets = Deno.args.length > 0 ? Deno.args : TARGETS;
  for (const target of targets) console.log(`built ${await compile(target)}`);
}
