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
 */
export async function sendSyslog(
  socketPath: string,
  bindDir: string,
  messages: string[],
  time = new Date(),
): Promise<boolean> {
  if (messages.length === 0) return false;
  try {
    if (!(await Deno.lstat(socketPath)).isSocket) return false;
  } catch {
    return false;
  }
  const own = `${bindDir}/.syslog-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}.sock`;
  let socket: Deno.DatagramConn | undefined;
  try {
    await Deno.mkdir(bindDir, { recursive: true, mode: 0o700 });
    socket = Deno.listenDatagram({ transport: "unixpacket", path: own });
    const encoder = new TextEncoder();
    for (const message of messages) {
      const sent = socket.send(encoder.encode(formatSyslog(message, time, Deno.pid)), {
        transport: "unixpacket",
        path: socketPath,
      });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const slow = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("syslog is slow")), 200);
      });
      await Promise.race([sent, slow]).finally(() => clearTimeout(timer));
    }
    return true;
  } catch {
    return false;
  } finally {
    socket?.close();
    await Deno.remove(own).catch(() => {});
  }
}
