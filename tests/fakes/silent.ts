/**
 * Network peers that never answer, for deadline tests.
 *
 * @module
 */

/** A TCP listener that accepts connections and never reads or writes. */
export function startSilentServer(): AsyncDisposable & { url: string } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const connections: Deno.Conn[] = [];
  (async () => {
    try {
      for await (const conn of listener) connections.push(conn);
    } catch {
      // closed
    }
  })();
  return {
    url: `http://127.0.0.1:${listener.addr.port}`,
    [Symbol.asyncDispose]() {
      connections.splice(0).forEach((c) => c.close());
      listener.close();
      return Promise.resolve();
    },
  };
}

/** A URL on 127.0.0.1 where nothing listens (connections are refused). */
export function refusedUrl(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return `http://127.0.0.1:${port}`;
}
