/**
 * Session start records, for the `duration_seconds` of a close (I/O).
 *
 * pam_exec's parent is the sshd process that opens and later closes the
 * session, so the record is keyed by that pid; the pid's start time (from
 * /proc) guards against pid reuse.
 *
 * @module
 */

/** Reads a file's text; injected by tests. */
export type ReadText = (path: string) => Promise<string>;

/** The start time (clock ticks since boot) of a process, or `undefined` if it is gone. */
export async function processStartTime(
  pid: number,
  readText: ReadText = Deno.readTextFile,
): Promise<string | undefined> {
  try {
    const stat = await readText(`/proc/${pid}/stat`);
    // Fields after the command name, which may itself contain ") ".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19];
  } catch {
    return undefined;
  }
}

function recordPath(dir: string, pid: number): string {
  return `${dir}/sessions/${pid}.json`;
}

/** Records that the session of process `pid` opened at `time`. */
export async function recordOpen(
  dir: string,
  pid: number,
  procStart: string | undefined,
  time: Date,
): Promise<void> {
  await Deno.mkdir(`${dir}/sessions`, { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(
    recordPath(dir, pid),
    JSON.stringify({ start: time.toISOString(), proc_start: procStart ?? null }),
    { mode: 0o600 },
  );
}

/**
 * The whole seconds since the open recorded for `pid`, removing the record;
 * `undefined` when there is no matching record.
 */
export async function takeDuration(
  dir: string,
  pid: number,
  procStart: string | undefined,
  time: Date,
): Promise<number | undefined> {
  const path = recordPath(dir, pid);
  let record: { start?: unknown; proc_start?: unknown };
  try {
    const info = await Deno.lstat(path);
    if (!info.isFile) return undefined;
    record = JSON.parse(await Deno.readTextFile(path));
  } catch {
    return undefined;
  }
  await Deno.remove(path).catch(() => {});
  const start = typeof record.start === "string" ? Date.parse(record.start) : NaN;
  if (Number.isNaN(start) || (record.proc_start ?? undefined) !== procStart) return undefined;
  return Math.max(0, Math.round((time.getTime() - start) / 1000));
}

/** Removes records whose process is gone or is another process now. */
export async function cleanStaleSessions(
  dir: string,
  readText: ReadText = Deno.readTextFile,
): Promise<number> {
  let removed = 0;
  try {
    for await (const entry of Deno.readDir(`${dir}/sessions`)) {
      const pid = Number(entry.name.replace(/\.json$/, ""));
      const path = `${dir}/sessions/${entry.name}`;
      let stale = !Number.isInteger(pid) || pid <= 0;
      if (!stale) {
        const record = JSON.parse(await Deno.readTextFile(path).catch(() => "{}"));
        stale = (await processStartTime(pid, readText)) !== (record.proc_start ?? undefined);
      }
      if (stale) {
        await Deno.remove(path).catch(() => {});
        removed++;
      }
    }
  } catch {
    // No sessions directory yet.
  }
  return removed;
}
