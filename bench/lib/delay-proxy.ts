import { createServer, type Socket, connect as tcpConnect } from 'node:net';

/**
 * A TCP forwarder on loopback that holds every reply from the target for `delayMs` before passing
 * it on, in order. Behind it, each Redis round trip a request waits for costs `delayMs` more, so
 * the round trips a call awaits one after another can be read from its latency: commands sent
 * together (pipelined) or not awaited add nothing. Hand-written on `node:net`: no proxy library
 * delays one direction of a stream.
 */
export async function startDelayProxy(
  targetPort: number,
  delayMs: number,
): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = tcpConnect({ host: '127.0.0.1', port: targetPort });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(socket);
      });
    }
    client.pipe(upstream);
    // Timers of equal delay fire in the order they were set, so replies keep their order.
    upstream.on('data', (chunk: Buffer) => {
      setTimeout(() => {
        if (!client.destroyed) client.write(chunk);
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `redis://127.0.0.1:${port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
