/**
 * `deno task package`: the .deb it builds around an executable (here the
 * test's stand-in, tests/support/stand_in.ts: the compiled binary cannot be
 * built on these machines), judged by dpkg-deb and Debian's lintian, and
 * its refusals. The package's life with real dpkg is tests/system/package.ts.
 */

import assert from "node:assert/strict";
import { VERSION } from "../lib/cli/version.ts";
import { conffiles, packageFiles, SCRIPTS } from "../packaging/contents.ts";
import { embeddedPackages } from "../packaging/copyright.ts";
import { lacks } from "./support/requires.ts";
import { writeStandIn } from "./support/stand_in.ts";
import { ROOT } from "./support/tattle.ts";

const ARCH = Deno.build.arch === "x86_64" ? "amd64" : "arm64";
const MAINTAINER = "tattle tests <tests@example.org>";

/** Runs `deno task package` with `args`: its exit code and output. */
async function packageTask(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command("deno", {
    args: ["task", "--quiet", "package", ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

async function run(program: string, args: string[]) {
  const out = await new Deno.Command(program, { args, stdout: "piped", stderr: "piped" }).output();
  return {
    code: out.code,
    text: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr),
  };
}

const noLintian = lacks(["/usr/bin/lintian"], "apt-get install lintian");

Deno.test(
  "the package holds what contents.ts declares, with its control data, and lintian finds no error or warning",
  { ignore: lacks(["/usr/bin/gcc", "/usr/bin/dpkg-deb"], "apt-get install gcc dpkg") },
  async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "tattle-deb-" });
    const out = `${ROOT}dist/test-deb-${Deno.pid}`;
    try {
      const standIn = await writeStandIn(dir, {});
      const built = await packageTask([
        "--binary",
        standIn,
        "--maintainer",
        MAINTAINER,
        "--out",
        out,
      ]);
      assert.equal(built.code, 0, built.stderr);
      const deb = `${out}/tattle_${VERSION}_${ARCH}.deb`;
      assert.equal(built.stdout.trim(), `built ${deb}`);

      await t.step("every declared file, with its mode, and nothing else", async () => {
        const listing = (await run("dpkg-deb", ["--contents", deb])).text.trim().split("\n");
        const files = listing.filter((line) => !line.startsWith("d")).map((line) => {
          const [mode, owner, , , , path] = line.split(/\s+/);
          return { mode, owner, path: path.slice(1) };
        });
        const declared = packageFiles(standIn, {
          config: "",
          copyright: "",
          changelog: "",
          manPage: "",
        });
        assert.deepEqual(files.map((f) => f.path).sort(), declared.map((f) => f.path).sort());
        for (const file of files) {
          const mode = declared.find((d) => d.path === file.path)!.mode === 0o755
            ? "-rwxr-xr-x"
            : "-rw-r--r--";
          assert.equal(file.mode, mode, file.path);
          assert.equal(file.owner, "root/root", file.path);
        }
      });

      await t.step("control, conffiles, maintainer scripts", async () => {
        const field = async (name: string) =>
          (await run("dpkg-deb", ["--field", deb, name])).text.trim();
        assert.equal(await field("Package"), "tattle");
        assert.equal(await field("Version"), VERSION);
        assert.equal(await field("Architecture"), ARCH);
        assert.equal(await field("Maintainer"), MAINTAINER);
        const control = `${dir}/control`;
        await run("dpkg-deb", ["--control", deb, control]);
        const declared = packageFiles(standIn, {
          config: "",
          copyright: "",
          changelog: "",
          manPage: "",
        });
        assert.equal(await Deno.readTextFile(`${control}/conffiles`), conffiles(declared));
        assert.equal(await Deno.readTextFile(`${control}/conffiles`), "/etc/tattle/config.json\n");
        for (const script of SCRIPTS) {
          assert.equal((await Deno.stat(`${control}/${script}`)).mode! & 0o777, 0o755, script);
        }
      });

      await t.step(
        "the copyright names what the binary embeds, and nothing only the tests use",
        async () => {
          const root = `${dir}/root`;
          await run("dpkg-deb", ["--extract", deb, root]);
          const copyright = await Deno.readTextFile(`${root}/usr/share/doc/tattle/copyright`);
          const lock = JSON.parse(await Deno.readTextFile(`${ROOT}deno.lock`));
          const runtime = embeddedPackages(lock.npm, [
            Object.keys(lock.npm).find((k) => k.startsWith("@aws-sdk/client-eventbridge@"))!,
            Object.keys(lock.npm).find((k) => k.startsWith("@smithy/fetch-http-handler@"))!,
          ]);
          for (const key of runtime) {
            const at = key.lastIndexOf("@");
            assert.match(
              copyright,
              new RegExp(
                `^  ${key.slice(0, at)} ${key.slice(at + 1).replaceAll(".", "\\.")} `,
                "m",
              ),
            );
          }
          assert.doesNotMatch(copyright, /@cloud-copilot/, "the IAM evaluator is test-only");
          assert.match(copyright, /Copyright \(c\) 2026 the tattle authors/);
          const config = JSON.parse(await Deno.readTextFile(`${root}/etc/tattle/config.json`));
          assert.equal(config.mode, "background");
        },
      );

      await t.step({
        name: "lintian: no error, no warning",
        ignore: noLintian,
        fn: async () => {
          const lintian = await run("lintian", ["--fail-on", "error,warning", deb]);
          const findings = lintian.text.split("\n").filter((line) => /^[EW]: /.test(line));
          assert.deepEqual(findings, []);
          assert.equal(lintian.code, 0, lintian.text);
        },
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(out, { recursive: true }).catch(() => {});
    }
  },
);

Deno.test("deno task package refuses, with exit 64 and what to do: no binary, another architecture, a bad version, no maintainer", async () => {
  const notElf = `${ROOT}README.md`;
  const cases: Array<[string[], Record<string, string>, RegExp]> = [
    [["--maintainer", MAINTAINER], {}, /--binary PATH is required/],
    [
      ["--binary", notElf, "--maintainer", MAINTAINER],
      {},
      /is not an x86_64 or aarch64 ELF executable/,
    ],
    [
      [
        "--binary",
        Deno.execPath(),
        "--arch",
        ARCH === "amd64" ? "arm64" : "amd64",
        "--maintainer",
        MAINTAINER,
      ],
      {},
      /is built for .*, not --arch/,
    ],
    [
      ["--binary", Deno.execPath(), "--arch", "i386", "--maintainer", MAINTAINER],
      {},
      /--arch i386: amd64 or arm64/,
    ],
    [
      ["--binary", Deno.execPath(), "--version", "v1.0", "--maintainer", MAINTAINER],
      {},
      /is not a Debian native version/,
    ],
    [
      ["--binary", Deno.execPath()],
      { DEBFULLNAME: "", DEBEMAIL: "" },
      /--maintainer "NAME <EMAIL>" is required/,
    ],
  ];
  for (const [args, env, message] of cases) {
    const result = await packageTask(args, env);
    assert.equal(result.code, 64, `${args.join(" ")}: ${result.stderr}`);
    assert.match(result.stderr, /^tattle: error: /);
    assert.match(result.stderr, message);
    assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
  }
});
