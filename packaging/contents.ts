/**
 * What the Debian package holds, and its control data, declared once
 * (pure: `deb.ts` reads the sources and builds the archive).
 *
 * @module
 */

import { BINARY } from "../lib/config/paths.ts";
import { DEFAULT_CONFIG_PATH } from "../lib/config/settings.ts";

/** Debian's names for the release targets. */
export const ARCHES = { amd64: "x86_64", arm64: "aarch64" } as const;

/** A Debian architecture tattle is built for. */
export type Arch = keyof typeof ARCHES;

/** Where a file's bytes come from: a file (relative to the checkout, or absolute), or text. */
export type Source = { file: string } | { text: string };

/** One file of the package. */
export interface PackageFile {
  /** Its absolute path once installed. */
  path: string;
  mode: 0o644 | 0o755;
  source: Source;
  /** Compressed as Debian wants documentation (gzip -9n). */
  gzip?: true;
  /** A conffile: dpkg keeps an operator's edits across upgrades. */
  conffile?: boolean;
}

/** The maintainer scripts, in the checkout. */
export const SCRIPTS = ["postinst", "prerm", "postrm"] as const;

/** The units the package installs, from contrib/systemd/. */
export const UNITS = [
  "tattle-sender.socket",
  "tattle-sender.service",
  "tattle-flush.service",
  "tattle-flush.timer",
] as const;

/** What goes in the package, for a binary at `binary`. */
export function packageFiles(
  binary: string,
  texts: { config: string; copyright: string; changelog: string; manPage: string },
): PackageFile[] {
  const doc = "/usr/share/doc/tattle";
  return [
    { path: BINARY, mode: 0o755, source: { file: binary } },
    {
      path: "/usr/lib/tattle/stop-senders",
      mode: 0o755,
      source: { file: "packaging/debian/stop-senders" },
    },
    ...UNITS.map((unit) => ({
      path: `/usr/lib/systemd/system/${unit}`,
      mode: 0o644 as const,
      source: { file: `contrib/systemd/${unit}` },
    })),
    {
      path: "/usr/lib/sysusers.d/tattle.conf",
      mode: 0o644,
      source: { file: "contrib/sysusers.d/tattle.conf" },
    },
    {
      path: "/usr/lib/tmpfiles.d/tattle.conf",
      mode: 0o644,
      source: { file: "contrib/tmpfiles.d/tattle.conf" },
    },
    { path: DEFAULT_CONFIG_PATH, mode: 0o644, source: { text: texts.config }, conffile: true },
    { path: `${doc}/copyright`, mode: 0o644, source: { text: texts.copyright } },
    { path: `${doc}/changelog.gz`, mode: 0o644, source: { text: texts.changelog }, gzip: true },
    { path: `${doc}/README.md.gz`, mode: 0o644, source: { file: "README.md" }, gzip: true },
    // Examples an operator may want: the IMDS rule, cron where systemd does not run, the IAM
    // policy and the alert stack.
    {
      path: `${doc}/examples/tattle-imds.nft`,
      mode: 0o644,
      source: { file: "contrib/nftables/tattle-imds.nft" },
    },
    {
      path: `${doc}/examples/cron.d-tattle`,
      mode: 0o644,
      source: { file: "contrib/cron.d/tattle" },
    },
    {
      path: `${doc}/examples/iam-policy.json`,
      mode: 0o644,
      source: { file: "contrib/iam-policy.json" },
    },
    {
      path: `${doc}/examples/cloudformation.json`,
      mode: 0o644,
      source: { file: "contrib/cloudformation.json" },
    },
    {
      path: "/usr/share/man/man8/tattle.8.gz",
      mode: 0o644,
      source: { text: texts.manPage },
      gzip: true,
    },
  ];
}

/** The control file's fields. */
export interface Control {
  version: string;
  arch: Arch;
  maintainer: string;
  /** Sum of the files' sizes, in KiB, as dpkg-gencontrol counts it. */
  installedSizeKiB: number;
}

/** Debian's version syntax (policy 5.6.12), for a native package: no revision. */
const NATIVE_VERSION = /^[0-9][A-Za-z0-9.+~]*$/;

/**
 * Whether `version` is a Debian version tattle can ship (native: no `-`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validVersion } from "./contents.ts";
 * assert.equal(validVersion("0.2.0"), true);
 * assert.equal(validVersion("v0.2.0"), false);
 * ```
 */
export function validVersion(version: string): boolean {
  return NATIVE_VERSION.test(version);
}

/** DEBIAN/control. */
export function controlFile(control: Control): string {
  return [
    "Package: tattle",
    `Version: ${control.version}`,
    `Architecture: ${control.arch}`,
    `Maintainer: ${control.maintainer}`,
    `Installed-Size: ${control.installedSizeKiB}`,
    // libc6: the binary is linked against glibc. passwd: useradd and userdel, for the sender's
    // account where systemd-sysusers is missing, and at purge. prlimit (util-linux), id
    // (coreutils) and deb-systemd-helper (init-system-helpers) are essential.
    "Depends: libc6, passwd",
    "Section: admin",
    "Priority: optional",
    "Description: report SSH logins and logouts to Amazon EventBridge",
    " tattle runs from sshd's PAM stack (pam_exec) on every session open and close",
    " and publishes a login or logout event to Amazon EventBridge, with the host's",
    " EC2 identity, so that a security team can route it to a pager or a chat.",
    " Events wait in a spool while AWS cannot be reached, and a sender service",
    " delivers them, as its own unprivileged account.",
    " .",
    " The package does not change the PAM stack: run tattle setup --pam.",
    "",
  ].join("\n");
}

/** DEBIAN/conffiles. */
export function conffiles(files: PackageFile[]): string {
  return files.filter((f) => f.conffile).map((f) => `${f.path}\n`).join("");
}

/** The changelog of a native package with one entry, for `version`. */
export function changelog(version: string, maintainer: string, date: Date): string {
  return [
    `tattle (${version}) unstable; urgency=medium`,
    "",
    `  * tattle ${version}; the README says what changed.`,
    "",
    ` -- ${maintainer}  ${rfc2822(date)}`,
    "",
  ].join("\n");
}

/** A date as Debian's changelog writes it: `Mon, 07 Dec 2026 19:00:00 +0000`. */
export function rfc2822(date: Date): string {
  const [weekday, day, month, year, time] = date.toUTCString().replace(",", "").split(" ");
  return `${weekday}, ${day} ${month} ${year} ${time} +0000`;
}
