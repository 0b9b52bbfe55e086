/**
 * Reading a PAM service's whole stack: its file and every file it includes
 * (I/O).
 *
 * @module
 */

import { type PamDirective, parsePamFile, userReadenvDirectives } from "./pam_stack.ts";

/** One file of a stack: its path (without the root) and its directives. */
export interface PamStackFile {
  file: string;
  text: string;
  directives: PamDirective[];
}

/**
 * The files of PAM service `service` under `root`, the service's own first,
 * following `@include`, `include` and `substack`. A missing included file is
 * left out (PAM itself would fail on it, not tattle).
 */
export async function readPamStack(root: string, service: string): Promise<PamStackFile[]> {
  const base = root.replace(/\/+$/, "");
  const files: PamStackFile[] = [];
  const seen = new Set<string>();
  const visit = async (name: string) => {
    const file = name.startsWith("/") ? name : `/etc/pam.d/${name}`;
    if (seen.has(file)) return;
    seen.add(file);
    let text: string;
    try {
      text = await Deno.readTextFile(`${base}${file}`);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound && files.length > 0) return;
      throw error;
    }
    const { directives } = parsePamFile(text);
    files.push({ file, text, directives });
    for (const d of directives) if (d.includes) await visit(d.module);
  };
  await visit(service);
  return files;
}

/** Every directive in the stack that makes pam_env read users' `~/.pam_environment`. */
export function userReadenvFindings(
  stack: PamStackFile[],
): Array<{ file: string; directive: PamDirective }> {
  return stack.flatMap(({ file, directives }) =>
    userReadenvDirectives(directives).map((directive) => ({ file, directive }))
  );
}
