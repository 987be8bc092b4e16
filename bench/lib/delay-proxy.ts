import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, connect as tcpConnect } from 'node:net';
import { fileURLToPath } from 'node:url';

/**
 * A TCP forwarder on loopback that holds every reply from the target for `delayMs` before passing
 * it on, in order. Behind it, each Redis round trip a request waits for costs `delayMs` more, so
 * the round trips a call awaits one after another can be read from its latency: commands sent
 * together or not awaited add nothing. Hand-written on `node:net`: no proxy library delays one
 * direction of a stream. It runs in a process of its own, so that the bench's own event loop
 * (the client making the calls) never delays a reply further.
 */
export async function startDelayProxy(
  targetPort: number,
  delayMs: number,
): Promise<{ url: string; close(): Promise<void> }> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), String(targetPort), String(delayMs)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the delay proxy exited with ${code}`)));
    child.stdout?.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    close: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

function serve(targetPort: number, delayMs: number): void {
  const server = createServer((client) => {
    const upstream = tcpConnect({ host: '127.0.0.1', port: targetPort });
    for (const socket of [client, upstream]) {
      // No Nagle: a reply held back by an unacknowledged one would add delay the target never caused.
      socket.setNoDelay(true);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        client.destroy();
        upstream.destroy();
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
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${(server.address() as { port: number }).port}\n`);
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  serve(Number(process.argv[2]), Number(process.argv[3]));
}
