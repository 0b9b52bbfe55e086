/**
 * Editing a PAM service file to add or remove tattle's session line (pure).
 *
 * @module
 */

/** The comment that marks the line `tattle setup` added, so uninstall removes exactly it. */
export const MARKER = "# added by tattle setup; removed by tattle setup --uninstall";

const DIRECTIVE = /^-?(auth|account|session|password)\s+(\[[^\]]*\]|\S+)\s+\S+/;
const INCLUDE = /^@include\s+\S+$/;

/**
 * The first line that is not a comment, a blank, `@include` or a
 * `type control module [args]` directive; `undefined` when all parse.
 */
export function unparsableLine(text: string): { number: number; line: string } | undefined {
  const lines = text.split("\n");
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    if (!DIRECTIVE.test(line) && !INCLUDE.test(line)) return { number: index + 1, line: raw };
  }
  return undefined;
}

/** The session line for a binary and config. */
export function tattleLine(binary: string, configPath: string): string {
  return `session optional pam_exec.so ${binary} --config ${configPath}`;
}

/** Whether a session line already runs tattle (added by setup or by hand). */
export function hasTattleLine(text: string): boolean {
  return text.split("\n").some((raw) => {
    const line = raw.trim();
    return line.startsWith("session") && /pam_exec\.so/.test(line) && /\btattle\b/.test(line);
  });
}

/** The file with tattle's line and marker appended (unchanged if a tattle line exists). */
export function addTattleLine(text: string, line: string): string {
  if (hasTattleLine(text)) return text;
  const base = text.length === 0 || text.endsWith("\n") ? text : `${text}\n`;
  return `${base}${MARKER}\n${line}\n`;
}

/** The file without the marker and the line right after it; other lines are kept as they are. */
export function removeTattleLine(text: string): string {
  const lines = text.split("\n");
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] === MARKER) {
      i++; // the line setup added
      continue;
    }
    out.push(lines[i]);
  }
  return out.join("\n");
}
