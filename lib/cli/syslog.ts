/**
 * Logging failures to syslog (facility authpriv, tag `tattle`), besides the
 * stderr line (I/O). No socket is not an error, and logging never fails or
 * delays a run by more than a moment.
 *
 * @module
 */

/** authpriv (10) × 8 + err (3). */
const PRIORITY_ERR = 10 * 8 + 3;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** One RFC 3164 message as the local syslog socket expects it. */
export function formatSyslog(message: string, time: Date, pid: number): string {
  const day = String(time.getDate()).padStart(2, " ");
  const clock = time.toTimeString().slice(0, 8);
  const text = message.replaceAll(/[\r\n]+/g, " ");
  return `<${PRIORITY_ERR}>${MONTHS[time.getMonth()]} ${day} ${clock} tattle[${pid}]: ${text}`;
}

/**
 * Sends `messages` to the datagram socket at `socketPath`. A datagram needs a
 * bound sender address: a socket file in `bindDir`, removed afterwards.
 *
 * @returns `undefined` when the messages were sent or there is no socket at
 * all (no syslog daemon); otherwise what went wrong, to be said on stderr.
 */
export async function sendSyslog(
  socketPath: string,
  bindDir: string,
  messages: string[],
  time = new Date(),
): Promise<string | undefined> {
  if (messages.length === 0) return undefined;
  const failed = (what: unknown) =>
    `syslog at ${socketPath} did not take ${messages.length} line(s): ${
      what instanceof Error ? what.message : what
    }`;
  try {
    if (!(await Deno.lstat(socketPath)).isSocket) return failed("it is not a socket");
  } catch (error) {
    return error instanceof Deno.errors.NotFound ? undefined : failed(error);
  }
  const own = `${bindDir}/.syslog-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}.sock`;
  let socket: Deno.DatagramConn | undefined;
  try {
    await Deno.mkdir(bindDir, { recursive: true, mode: 0o755 });
    socket = Deno.listenDatagram({ transport: "unixpacket", path: own });
    const encoder = new TextEncoder();
    for (const message of messages) {
      const sent = socket.send(encoder.encode(formatSyslog(message, time, Deno.pid)), {
        transport: "unixpacket",
        path: socketPath,
      });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const slow = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("it did not answer within 200 ms")), 200);
      });
      await Promise.race([sent, slow]).finally(() => clearTimeout(timer));
    }
    return undefined;
  } catch (error) {
    return failed(error);
  } finally {
    socket?.close();
    await Deno.remove(own).catch(() => {});
  }
}
