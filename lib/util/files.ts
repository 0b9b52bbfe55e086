/**
 * Writing small files: new ones, and atomic replacements (I/O).
 *
 * Through `Deno.open`, not `Deno.writeTextFile`: the latter's first use
 * costs a login about 7 ms of CPU, and the hook's spool write opens files
 * anyway.
 *
 * @module
 */

/** How to write a file. */
export interface WriteOptions {
  /** Permission bits of a new file; 0600 when unset. */
  mode?: number;
  /** fsync the file before it is closed. */
  sync?: boolean;
  /**
   * Set the mode after creating, whatever the umask (by path: only in a
   * directory no other account can change).
   */
  chmod?: boolean;
}

/**
 * Creates `path` holding `text`; fails with `Deno.errors.AlreadyExists` when
 * it exists.
 */
export async function createFile(
  path: string,
  text: string,
  { mode = 0o600, sync = false, chmod = false }: WriteOptions = {},
): Promise<void> {
  const file = await Deno.open(path, { write: true, createNew: true, mode });
  try {
    const bytes = new TextEncoder().encode(text);
    for (let done = 0; done < bytes.length;) done += await file.write(bytes.subarray(done));
    if (sync) await file.sync();
  } finally {
    file.close();
  }
  if (chmod) await Deno.chmod(path, mode);
}

/**
 * Replaces `path` with `text` atomically: written to a new temporary file
 * beside it, then renamed over it, so a reader sees the old file or the new.
 */
export async function replaceFile(
  path: string,
  text: string,
  { tmp = `${path}.${crypto.randomUUID()}.tmp`, ...options }: WriteOptions & {
    /** The temporary file, in the same directory (default: beside `path`, a unique name). */
    tmp?: string;
  } = {},
): Promise<void> {
  try {
    await createFile(tmp, text, options);
    await Deno.rename(tmp, path);
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw error;
  }
}
