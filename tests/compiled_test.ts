/**
 * The process-level tests again, against a compiled binary instead of
 * `deno run`: run when one can be built here (DENORT_BIN set, or
 * dl.deno.land reachable), otherwise reported as ignored with the reason.
 */

import { compile } from "../tools/compile.ts";
import { ROOT } from "./support/tattle.ts";

const dir = await Deno.makeTempDir({ prefix: "tattle-compiled-" });

async function tryCompile(target: string): Promise<string | Error> {
  try {
    return await compile(target, dir);
  } catch (error) {
    return error as Error;
  }
}

async function runSuiteWith(binary: string, runner: string[] = []) {
  const wrapper = runner.length ? `${dir}/run-${binary.split("/").pop()}` : binary;
  if (runner.length) {
    await Deno.writeTextFile(wrapper, `#!/bin/sh\nexec ${runner.join(" ")} ${binary} "$@"\n`, {
      mode: 0o755,
    });
  }
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["test", "--allow-all", `${ROOT}tests/cli_test.ts`, `${ROOT}tests/fault_matrix_test.ts`],
    env: { TATTLE_BIN: wrapper },
  }).output();
  if (out.code !== 0) throw new Error(new TextDecoder().decode(out.stdout).slice(-4000));
}

const x86 = await tryCompile("x86_64-unknown-linux-gnu");
const reason = (e: Error) =>
  `no denort runtime (set DENORT_BIN or allow dl.deno.land): ${e.message.split("\n")[0]}`;

if (x86 instanceof Error) {
  console.log(`ignored: the compiled binary tests: ${reason(x86)}`);
  await Deno.remove(dir, { recursive: true });
}
Deno.test({
  name: x86 instanceof Error
    ? `compiled x86_64 binary: ignored, ${reason(x86)}`
    : "compiled x86_64 binary passes the process-level tests",
  ignore: x86 instanceof Error,
  fn: () => runSuiteWith(x86 as string),
});

const qemu = ["/usr/bin/qemu-aarch64-static", "/usr/bin/qemu-aarch64"].find((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});
const arm = x86 instanceof Error || !qemu
  ? undefined
  : await tryCompile("aarch64-unknown-linux-gnu");
const armSkip = x86 instanceof Error
  ? reason(x86)
  : !qemu
  ? "qemu-user (qemu-aarch64) is not installed"
  : arm instanceof Error
  ? reason(arm)
  : undefined;
Deno.test({
  name: armSkip
    ? `compiled aarch64 binary under qemu: ignored, ${armSkip}`
    : "compiled aarch64 binary under qemu passes",
  ignore: armSkip !== undefined,
  fn: () => runSuiteWith(arm as string, [qemu!]),
});
