/**
 * Reading and editing a PAM service file such as /etc/pam.d/sshd (pure).
 *
 * tattle's line must run where nothing a user controls has reached the PAM
 * environment: before pam_env (which may read `~/.pam_environment`) and
 * pam_limits (whose limits would stop the runtime). Every edit setup makes
 * is marked, so `--uninstall` restores exactly what was there.
 *
 * @module
 */

/** One directive of a PAM service file. */
export interface PamDirective {
  /** 1-based line number. */
  number: number;
  raw: string;
  /** auth, account, session or password; undefined for `@include`. */
  type?: string;
  control?: string;
  /** The module, or for `@include`, `include` and `substack` the file included. */
  module: string;
  args: string[];
  /** Whether the directive pulls in another file. */
  includes: boolean;
}

/** The marker above the line `tattle setup` added. */
export const MARKER = "# added by tattle setup; removed by tattle setup --uninstall";

/**
 * The start of the comment a tattle line setup did not add becomes (the
 * original tool's, an older tattle's, a hand-written one): setup's own line
 * replaces it, and `--uninstall` puts it back.
 */
export const REPLACED_MARKER =
  "# tattle setup put its own line in place of this one; --uninstall restores: ";

/** The start of the marker above a pam_env line whose user_readenv setup turned off. */
export const READENV_MARKER =
  "# tattle setup --disable-user-readenv set user_readenv=0 below; --uninstall restores: ";

const DIRECTIVE = /^(-?)(auth|account|session|password)\s+(\[[^\]]*\]|\S+)\s+(\S+)\s*(.*)$/;
const AT_INCLUDE = /^@include\s+(\S+)$/;

/**
 * The directives of a PAM file, or the first line that is neither a
 * comment, a blank, `@include` nor `type control module [args]`.
 */
export function parsePamFile(
  text: string,
): { directives: PamDirective[]; bad?: { number: number; line: string } } {
  const directives: PamDirective[] = [];
  for (const [index, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const number = index + 1;
    const include = AT_INCLUDE.exec(line);
    if (include) {
      directives.push({ number, raw, module: include[1], args: [], includes: true });
      continue;
    }
    const match = DIRECTIVE.exec(line);
    if (!match) return { directives, bad: { number, line: raw } };
    const [, , type, control, module, rest] = match;
    directives.push({
      number,
      raw,
      type,
      control,
      module,
      args: rest.split(/\s+/).filter(Boolean),
      includes: control === "include" || control === "substack",
    });
  }
  return { directives };
}

/** A module's file name: `/lib/security/pam_env.so` → `pam_env.so`. */
export function moduleName(module: string): string {
  return module.slice(module.lastIndexOf("/") + 1);
}

/** Directives that make pam_env read users' `~/.pam_environment` (any type counts). */
export function userReadenvDirectives(directives: PamDirective[]): PamDirective[] {
  return directives.filter((d) =>
    !d.includes && moduleName(d.module) === "pam_env.so" && d.args.includes("user_readenv=1")
  );
}

/**
 * The file with every session line that runs tattle and that setup did not
 * add turned into a {@link REPLACED_MARKER} comment, and those lines.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { REPLACED_MARKER, replaceOtherTattleLines } from "./pam_stack.ts";
 * const original = "session optional pam_exec.so /usr/local/bin/tattle";
 * const { text, replaced } = replaceOtherTattleLines(`${original}\n`);
 * assert.equal(text, `${REPLACED_MARKER}${original}\n`);
 * assert.deepEqual(replaced, [{ number: 1, line: original }]);
 * ```
 */
export function replaceOtherTattleLines(
  text: string,
): { text: string; replaced: Array<{ number: number; line: string }> } {
  const lines = text.split("\n");
  const replaced: Array<{ number: number; line: string }> = [];
  const out = lines.map((raw, i) => {
    if (!isTattleLine(raw) || lines[i - 1] === MARKER) return raw;
    replaced.push({ number: i + 1, line: raw });
    return `${REPLACED_MARKER}${raw}`;
  });
  return { text: out.join("\n"), replaced };
}

function isTattleLine(raw: string): boolean {
  const line = raw.trim();
  return /^-?session\s/.test(line) && /pam_exec\.so/.test(line) && /\btattle\b/.test(line);
}

/**
 * The file with tattle's marked line where no user-controlled state has
 * reached the session yet: right after `@include common-session`, or else
 * before the first pam_env, pam_limits or `pam_selinux.so open` session
 * line, or else at the end. A line setup added earlier is moved there.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MARKER, placeTattleLine, uninstallFromPamFile } from "./pam_stack.ts";
 * const before = "@include common-session\nsession required pam_env.so\n";
 * const after = placeTattleLine(before, "session optional pam_exec.so tattle");
 * assert.equal(
 *   after,
 *   `@include common-session\n${MARKER}\nsession optional pam_exec.so tattle\nsession required pam_env.so\n`,
 * );
 * assert.equal(uninstallFromPamFile(after), before);
 * ```
 */
export function placeTattleLine(text: string, line: string): string {
  const lines = removeMarkedLines(text.split("\n"));
  const { directives } = parsePamFile(lines.join("\n"));
  const common = directives.find((d) => d.type === undefined && d.module === "common-session");
  const early = directives.find((d) =>
    d.type === "session" && !d.includes &&
    (["pam_env.so", "pam_limits.so"].includes(moduleName(d.module)) ||
      (moduleName(d.module) === "pam_selinux.so" && d.args.includes("open")))
  );
  const block = [MARKER, line];
  if (common) {
    lines.splice(common.number, 0, ...block);
  } else if (early) {
    lines.splice(early.number - 1, 0, ...block);
  } else {
    if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
    lines.push(...block, "");
  }
  return lines.join("\n");
}

/** The file with user_readenv=1 turned to 0 on the given lines, each marked with its original. */
export function disableUserReadenv(text: string, numbers: number[]): string {
  const lines = text.split("\n");
  for (const number of [...numbers].sort((a, b) => b - a)) {
    const original = lines[number - 1];
    lines.splice(
      number - 1,
      1,
      `${READENV_MARKER}${original}`,
      original.replace(/\buser_readenv=1\b/g, "user_readenv=0"),
    );
  }
  return lines.join("\n");
}

/**
 * The file without setup's line, with each pam_env line setup changed and
 * each tattle line it replaced restored.
 */
export function uninstallFromPamFile(text: string): string {
  const out: string[] = [];
  const lines = removeMarkedLines(text.split("\n"));
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].startsWith(READENV_MARKER)) {
      out.push(lines[i].slice(READENV_MARKER.length));
      i++; // the changed line
      continue;
    }
    if (lines[i].startsWith(REPLACED_MARKER)) {
      out.push(lines[i].slice(REPLACED_MARKER.length));
      continue;
    }
    out.push(lines[i]);
  }
  return out.join("\n");
}

function removeMarkedLines(lines: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] === MARKER) {
      i++; // the line setup added
      continue;
    }
    out.push(lines[i]);
  }
  return out;
}
