/**
 * Running a helper program a test needs (nft, systemd-sysusers, …): its
 * input given, its output dropped, its failure an error with what it said.
 *
 * @module
 */

/** Runs `program` with `args`, writing `stdin` to it; throws with its stderr when it fails. */
export async function runChecked(program: string, args: string[], stdin?: string): Promise<void> {
  const child = new Deno.Command(program, {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const out = await child.output();
  if (!out.success) {
    throw new Error(`${program} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}
