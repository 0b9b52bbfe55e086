/**
 * The stand-in for the tattle binary, which cannot be built here (`deno
 * compile` needs its runtime from dl.deno.land): a small compiled program,
 * `tattle-stand-in`, that runs this checkout's main.ts under the binary's
 * permission set (plus the test's own paths) with whatever arguments it is
 * given. It is what pam_exec, a unit's ExecStart or a package runs in the
 * tests; it is never called a binary of tattle.
 *
 * It is a compiled program, not a shell script: a shell rebuilds the
 * environment and drops repeated names, and the tests must see the
 * environment exactly as pam_exec built it. It sets DENO_DIR and
 * DENO_NO_UPDATE_CHECK for deno itself (tattle expects both in script mode;
 * setenv replaces the first copy, as any planted copy would be). Its cache
 * is one every account can read: the sender's account runs it too.
 *
 * @module
 */

import { denoRunArgs, type RunOptions, sharedCacheDir } from "./tattle.ts";

/** The stand-in's file name. */
export const STAND_IN = "tattle-stand-in";

/** Compiles the stand-in into `dir` (which it makes searchable); returns its path. */
export async function writeStandIn(dir: string, access: RunOptions): Promise<string> {
  const path = `${dir}/${STAND_IN}`;
  const argv = [Deno.execPath(), ...denoRunArgs(access)];
  const cString = (s: string) => JSON.stringify(s); // a JSON string is a valid C string literal here
  await Deno.writeTextFile(
    `${path}.c`,
    `#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
  static const char *fixed[] = { ${argv.map(cString).join(", ")} };
  const int n = sizeof fixed / sizeof fixed[0];
  char **args = calloc(n + argc, sizeof *args);
  for (int i = 0; i < n; i++) args[i] = (char *)fixed[i];
  for (int i = 1; i < argc; i++) args[n + i - 1] = argv[i];
  setenv("DENO_DIR", ${cString(await sharedCacheDir())}, 1);
  setenv("DENO_NO_UPDATE_CHECK", "1", 1);
  execv(fixed[0], args);
  return 127;
}
`,
  );
  // Built as Debian builds programs (stripped, hardened): a package around it is judged by
  // lintian on its packaging, not on how a test's launcher was compiled.
  const flags = ["-O2", "-s", "-fPIE", "-pie", "-Wl,-z,relro,-z,now", "-D_FORTIFY_SOURCE=2"];
  const out = await new Deno.Command("/usr/bin/gcc", { args: [...flags, "-o", path, `${path}.c`] })
    .output();
  if (!out.success) throw new Error(`gcc: ${new TextDecoder().decode(out.stderr)}`);
  await Deno.chmod(path, 0o755);
  // pam_exec, sshd's users and the sender's account must reach it.
  await Deno.chmod(dir, 0o755);
  return path;
}
