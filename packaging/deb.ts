/**
 * `deno task package`: `dist/tattle_<version>_<arch>.deb` around a tattle
 * executable, with dpkg-deb, offline (I/O; what goes in is `contents.ts`).
 *
 * Usage: deno task package --binary PATH [--arch amd64|arm64] [--version VERSION]
 *          [--maintainer "NAME <EMAIL>"] [--out DIR]
 *
 * @module
 */

import { gzipSync } from "node:zlib";
import { createHash } from "node:crypto";
import { ArgsError, formatOptions, type OptionSpecs, parseOptions } from "../lib/cli/args.ts";
import { reportError } from "../lib/cli/report.ts";
import { VERSION } from "../lib/cli/version.ts";
import { SETUP_CONFIG } from "../lib/setup/install.ts";
import { configError, EXIT, usageError } from "../lib/util/errors.ts";
import {
  type Arch,
  ARCHES,
  changelog,
  conffiles,
  controlFile,
  type PackageFile,
  packageFiles,
  SCRIPTS,
  validVersion,
} from "./contents.ts";
import { copyrightFile, type EmbeddedPackage, embeddedPackages } from "./copyright.ts";
import { manPage } from "./man.ts";

const ROOT = new URL("../", import.meta.url).pathname;

const OPTIONS = {
  binary: { kind: "string", value: "PATH", help: "the tattle executable to package (required)" },
  arch: { kind: "string", value: "ARCH", help: "amd64 or arm64 (default: the binary's)" },
  version: { kind: "string", value: "VERSION", help: `the package's version (default ${VERSION})` },
  maintainer: {
    kind: "string",
    value: "NAME <EMAIL>",
    help: 'the Maintainer field (default "$DEBFULLNAME <$DEBEMAIL>")',
  },
  out: { kind: "string", value: "DIR", help: "where the .deb goes (default dist/)" },
  help: { kind: "boolean", short: "h", help: "print this help" },
} as const satisfies OptionSpecs;

/** ELF e_machine of each architecture. */
const ELF_MACHINE: Record<number, Arch> = { 62: "amd64", 183: "arm64" };

/** What a package is built from. */
export interface BuildOptions {
  binary: string;
  arch?: Arch;
  version: string;
  maintainer: string;
  outDir: string;
  /** File times and the changelog's date (SOURCE_DATE_EPOCH, for builds that repeat). */
  date: Date;
}

/** Builds the package; returns its path. */
export async function buildPackage(options: BuildOptions): Promise<string> {
  if (!validVersion(options.version)) {
    throw usageError(
      `--version ${JSON.stringify(options.version)} is not a Debian native version ` +
        "(digits first, then letters, digits, '.', '+' or '~')",
    );
  }
  const arch = options.arch ?? await elfArch(options.binary);
  const built = await elfArch(options.binary);
  if (built !== arch) {
    throw usageError(`${options.binary} is built for ${built}, not --arch ${arch}`);
  }
  const texts = {
    config: `${JSON.stringify(SETUP_CONFIG, null, 2)}\n`,
    copyright: await copyright(),
    changelog: changelog(options.version, options.maintainer, options.date),
    manPage: await manPage(options.version, options.date.toISOString().slice(0, 10)),
  };
  const files = packageFiles(options.binary, texts);
  await Deno.mkdir(options.outDir, { recursive: true });
  const stage = await Deno.makeTempDir({ dir: options.outDir, prefix: ".stage-" });
  await Deno.chmod(stage, 0o755); // the package's "./"
  try {
    let installedBytes = 0;
    const md5sums: string[] = [];
    for (const file of files) {
      const bytes = await contentOf(file);
      const target = `${stage}${file.path}`;
      await makeDirs(stage, file.path.slice(0, file.path.lastIndexOf("/")));
      await Deno.writeFile(target, bytes);
      await Deno.chmod(target, file.mode);
      installedBytes += Math.ceil(bytes.length / 1024) * 1024;
      md5sums.push(`${createHash("md5").update(bytes).digest("hex")}  ${file.path.slice(1)}`);
    }
    await makeDirs(stage, "/DEBIAN");
    const control = {
      "control": controlFile({
        version: options.version,
        arch,
        maintainer: options.maintainer,
        installedSizeKiB: Math.ceil(installedBytes / 1024),
      }),
      "conffiles": conffiles(files),
      "md5sums": `${md5sums.join("\n")}\n`,
    };
    for (const [name, text] of Object.entries(control)) {
      await Deno.writeTextFile(`${stage}/DEBIAN/${name}`, text);
      await Deno.chmod(`${stage}/DEBIAN/${name}`, 0o644);
    }
    for (const script of SCRIPTS) {
      await Deno.copyFile(`${ROOT}packaging/debian/${script}`, `${stage}/DEBIAN/${script}`);
      await Deno.chmod(`${stage}/DEBIAN/${script}`, 0o755);
    }
    await touchAll(stage, options.date);
    const output = `${options.outDir}/tattle_${options.version}_${arch}.deb`;
    const run = await new Deno.Command("dpkg-deb", {
      args: ["--root-owner-group", "-Zxz", "--build", stage, output],
      env: { SOURCE_DATE_EPOCH: String(Math.floor(options.date.getTime() / 1000)) },
      stdout: "null",
      stderr: "piped",
    }).output().catch((error) => {
      throw configError(`dpkg-deb could not run (${error.message}): apt-get install dpkg`);
    });
    if (!run.success) {
      throw new Error(`dpkg-deb: ${new TextDecoder().decode(run.stderr).trim()}`);
    }
    return output;
  } finally {
    await Deno.remove(stage, { recursive: true });
  }
}

async function contentOf(file: PackageFile): Promise<Uint8Array> {
  const bytes = "text" in file.source
    ? new TextEncoder().encode(file.source.text)
    : await Deno.readFile(
      file.source.file.startsWith("/") ? file.source.file : `${ROOT}${file.source.file}`,
    );
  // gzip -9n: the most compression, no name or time in the header (lintian checks both).
  return file.gzip ? gzipSync(bytes, { level: 9 }) : bytes;
}

/** Makes `dir` (absolute, inside the package) under `stage`, each level 0755. */
async function makeDirs(stage: string, dir: string): Promise<void> {
  let path = stage;
  for (const part of dir.split("/").filter(Boolean)) {
    path += `/${part}`;
    await Deno.mkdir(path).catch((error) => {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    });
    await Deno.chmod(path, 0o755);
  }
}

/** Gives every file and directory under `dir` the time `date`. */
async function touchAll(dir: string, date: Date): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) await touchAll(path, date);
    await Deno.utime(path, date, date);
  }
  await Deno.utime(dir, date, date);
}

/** The architecture an ELF executable is built for. */
async function elfArch(path: string): Promise<Arch> {
  let header: Uint8Array;
  try {
    using file = await Deno.open(path);
    header = new Uint8Array(20);
    await file.read(header);
  } catch (error) {
    throw usageError(`--binary ${path}: ${(error as Error).message}`);
  }
  const elf = header[0] === 0x7f && String.fromCharCode(...header.subarray(1, 4)) === "ELF";
  const machine = new DataView(header.buffer).getUint16(18, true);
  if (!elf || !ELF_MACHINE[machine]) {
    throw usageError(`--binary ${path} is not an x86_64 or aarch64 ELF executable`);
  }
  return ELF_MACHINE[machine];
}

/** The copyright file, with the license of each npm package main.ts reaches. */
async function copyright(): Promise<string> {
  const info = await new Deno.Command("deno", {
    args: ["info", "--json", `${ROOT}main.ts`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!info.success) throw new Error(`deno info: ${new TextDecoder().decode(info.stderr)}`);
  const graph = JSON.parse(new TextDecoder().decode(info.stdout));
  const roots = (graph.modules as Array<{ kind: string; npmPackage?: string }>)
    .filter((m) => m.kind === "npm" && m.npmPackage).map((m) => m.npmPackage!);
  const lock = JSON.parse(await Deno.readTextFile(`${ROOT}deno.lock`));
  const versions = await new Deno.Command("deno", { args: ["--version"], stdout: "piped" })
    .output();
  const denoVersion = new TextDecoder().decode(versions.stdout).split(" ")[1];
  const cache = await npmCache();
  const packages: EmbeddedPackage[] = [];
  for (const key of embeddedPackages(lock.npm, roots)) packages.push(await embedded(key, cache));
  return copyrightFile(await Deno.readTextFile(`${ROOT}LICENSE`), denoVersion, packages);
}

/** Deno's npm cache (where `deno install` put the packages). */
async function npmCache(): Promise<string> {
  const info = await new Deno.Command("deno", { args: ["info", "--json"], stdout: "piped" })
    .output();
  return JSON.parse(new TextDecoder().decode(info.stdout)).npmCache;
}

/** One npm package's license, from the npm cache. */
async function embedded(key: string, cache: string): Promise<EmbeddedPackage> {
  const at = key.lastIndexOf("@");
  const [name, version] = [key.slice(0, at), key.slice(at + 1)];
  const dir = `${cache}/registry.npmjs.org/${name}/${version}`;
  let manifest: { license?: string };
  try {
    manifest = JSON.parse(await Deno.readTextFile(`${dir}/package.json`));
  } catch {
    throw configError(`${key} is not in ${cache}: run deno install --frozen first`);
  }
  const texts: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (
      entry.isFile && /^(licen[cs]e|copying|notice|copyrightnotice)(\.(md|txt))?$/i.test(entry.name)
    ) {
      texts.push(await Deno.readTextFile(`${dir}/${entry.name}`));
    }
  }
  // A few of the AWS SDK's packages ship none: their package.json's license stands.
  return { name, version, license: manifest.license ?? "(not stated)", texts };
}

if (import.meta.main) {
  Deno.exit(
    await (async () => {
      try {
        const { values } = parseOptions(Deno.args, OPTIONS);
        if (values.help) {
          console.log(
            `Usage: deno task package --binary PATH [OPTIONS]\n\nOptions:\n${
              formatOptions(OPTIONS)
            }`,
          );
          return EXIT.OK;
        }
        if (!values.binary) throw usageError("--binary PATH is required");
        if (values.arch !== undefined && !Object.hasOwn(ARCHES, values.arch)) {
          throw usageError(`--arch ${values.arch}: amd64 or arm64`);
        }
        const { DEBFULLNAME, DEBEMAIL, SOURCE_DATE_EPOCH } = Deno.env.toObject();
        const maintainer = values.maintainer ??
          (DEBFULLNAME && DEBEMAIL ? `${DEBFULLNAME} <${DEBEMAIL}>` : undefined);
        if (!maintainer) {
          throw usageError('--maintainer "NAME <EMAIL>" is required (or DEBFULLNAME and DEBEMAIL)');
        }
        const path = await buildPackage({
          binary: values.binary,
          arch: values.arch as Arch | undefined,
          version: values.version ?? VERSION,
          maintainer,
          outDir: values.out ?? `${ROOT}dist`,
          date: SOURCE_DATE_EPOCH ? new Date(Number(SOURCE_DATE_EPOCH) * 1000) : new Date(),
        });
        console.log(`built ${path}`);
        return EXIT.OK;
      } catch (error) {
        const usage = error instanceof ArgsError ? usageError(error.message) : error;
        return reportError(usage, Deno.args.includes("--debug"));
      }
    })(),
  );
}
