/**
 * The socket systemd hands the sender service (tattle-sender.socket): each
 * connection, a hook's, is a sign that something was spooled (I/O).
 *
 * Deno has no API for a listening socket it did not open; its Node layer's
 * `net.Server` takes one by file descriptor. The sender loads that layer
 * anyway (the AWS SDK needs it); a hook never does.
 *
 * @module
 */

import net from "node:net";
import type { WakeSource } from "./sender.ts";

/** The listening socket at file descriptor `fd`, as a source of wake-ups. */
export function passedSocketWakes(fd: number): WakeSource {
  let server: net.Server | undefined;
  return {
    start: (wake) =>
      new Promise((resolve, reject) => {
        server = net.createServer((connection) => {
          connection.destroy(); // a hook's knock: nothing to read
          wake();
        });
        server.once("error", reject);
        server.listen({ fd }, () => resolve());
      }),
    close: () =>
      new Promise((resolve) => {
        if (!server) return resolve();
        const closing = server;
        server = undefined;
        // Connections that come from now on wait in systemd's copy of the socket,
        // which starts a new sender for them once this one has left.
        closing.close(() => resolve());
      }),
  };
}
