/**
 * The release workflow (.github/workflows/release.yml): valid by GitHub's
 * schema (`@action-validator/cli`), and each `run:` step that can run on
 * these machines run here, as the workflow runs it. Those that cannot:
 * "Test" is .ci/run itself, "Compile both targets" needs `deno compile`'s
 * runtime from dl.deno.land, the aarch64 package needs an aarch64
 * executable, and "Attach" needs GitHub.
 */

import assert from "node:assert/strict";
import { parse } from "yaml";
import { VERSION } from "../lib/cli/version.ts";
import { lacks } from "./support/requires.ts";
import { writeStandIn } from "./support/stand_in.ts";
import { ROOT } from "./support/tattle.ts";

const WORKFLOW = `${ROOT}.github/workflows/release.yml`;

interface Step {
  name?: string;
  run?: string;
  env?: Record<string, string>;
  "working-directory"?: string;
}

const steps: Step[] = parse(await Deno.readTextFile(WORKFLOW)).jobs.release.steps;

function step(name: string): Step {
  const found = steps.find((s) => s.name === name);
  if (!found?.run) throw new Error(`release.yml has no run step "${name}"`);
  return found;
}

/** Runs a step's script with bash as GitHub does (`bash -e`), from the checkout or `cwd`. */
async function runStep(script: string, env: Record<string, string>, cwd = ROOT) {
  const out = await new Deno.Command("/bin/bash", {
    args: ["-e", "-c", script],
    cwd,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

const noBuildTools = lacks(["/usr/bin/gcc", "/usr/bin/dpkg-deb"], "apt-get install gcc dpkg");

Deno.test("release.yml is a valid workflow (action-validator)", async () => {
  const out = await new Deno.Command("deno", {
    args: [
      "run",
      "--frozen",
      "--allow-read",
      "--allow-env",
      "npm:@action-validator/cli@0.6.0",
      WORKFLOW,
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const said = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, said);
});

Deno.test("release.yml's steps that can run here, run", async (t) => {
  await t.step("the tag check passes for this version's tag, and fails for another", async () => {
    const { run } = step("Check the tag matches the version");
    const ok = await runStep(run!, { GITHUB_REF_NAME: `v${VERSION}` });
    assert.equal(ok.code, 0, ok.stderr);
    const other = await runStep(run!, { GITHUB_REF_NAME: "v0.0.0-not-this" });
    assert.notEqual(other.code, 0);
  });

  await t.step({
    name: "the packages, then the checksums (the stand-in in the amd64 binary's place)",
    ignore: noBuildTools,
    fn: async () => {
      const packaging = step("Package both targets");
      const lines = packaging.run!.trim().split("\n");
      assert.equal(lines.length, 2);
      const dir = await Deno.makeTempDir({ prefix: "tattle-release-" });
      const out = `dist/test-release-${Deno.pid}`;
      try {
        const standIn = await writeStandIn(dir, {});
        // The amd64 line, with the stand-in for the binary deno compile would have made; its
        // output where the test can look (dist/ is the task's only writable place).
        const amd64 = lines.find((l) => l.includes("--arch amd64"))!;
        assert.match(amd64, /--binary dist\/tattle-x86_64-unknown-linux-gnu /);
        const script = `${
          amd64.replace("dist/tattle-x86_64-unknown-linux-gnu", standIn)
        } --out ${out}`;
        const built = await runStep(script, {
          DEBFULLNAME: "tattle tests",
          DEBEMAIL: "tests@example.org",
        });
        assert.equal(built.code, 0, built.stderr);
        const deb = `tattle_${VERSION}_amd64.deb`;
        assert(Deno.statSync(`${ROOT}${out}/${deb}`).isFile);

        const sums = step("Checksums");
        assert.equal(sums["working-directory"], "dist");
        const summed = await runStep(sums.run!, {}, `${ROOT}${out}`);
        assert.equal(summed.code, 0, summed.stderr);
        const listed = await Deno.readTextFile(`${ROOT}${out}/SHA256SUMS`);
        assert.match(listed, new RegExp(`^[0-9a-f]{64}  ${deb.replaceAll(".", "\\.")}$`, "m"));
        const check = await runStep("sha256sum --check SHA256SUMS", {}, `${ROOT}${out}`);
        assert.equal(check.code, 0, check.stderr);
        // What the release attaches is what was summed.
        const attach = step("Attach the binaries, the packages and SHA256SUMS to the release").run!;
        for (
          const name of ["tattle-x86_64-unknown-linux-gnu", "tattle-aarch64-unknown-linux-gnu"]
        ) {
          assert(attach.includes(`dist/${name}`), name);
          assert(packaging.run!.includes(`--binary dist/${name}`), name);
        }
        assert(attach.includes("dist/tattle_*.deb") && attach.includes("dist/SHA256SUMS"));
      } finally {
        await Deno.remove(dir, { recursive: true });
        await Deno.remove(`${ROOT}${out}`, { recursive: true }).catch(() => {});
      }
    },
  });
});
