import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/ports.js';

/**
 * The headers of an event stream and its first event (for a 2025-era POST, the priming event: the
 * id the client resumes from) leave the node in one write (app/http/event-stream-headers.ts). The
 * server runs in a process of its own, which the client kills the moment the first bytes arrive, as
 * kill -9 may come at any moment. Two shapes of stream, each with the node stalling (a synchronous
 * stretch, as a node under CPU load spends one) after the headers are sent and before the first
 * event is written:
 * - `/mcp`: the node's web adapter (app/http/web-adapter.ts, `serveWebHandler`, as `/mcp` uses it)
 *   on a stream shaped as the SDK's: the priming event queued before the response is returned, the
 *   answer later. The adapter writes the headers and the priming event back to back, so the stall
 *   comes where a busy node can lose the CPU: right after its first write to the socket;
 * - `/piped`: the gateway's (app/gateway/proxy.ts, sendUpstreamStreamHeaders): an upstream's stream
 *   piped through, its priming event already received with the upstream's headers, and the stall
 *   queued before the pipe's first write.
 *
 * What a client must never hold is the headers without the id: the v1 client resumes a broken POST
 * stream only from an event id, so if the node dies then, its call waits out its timeout. That is
 * what cost one call in test/e2e/cluster-faults.test.ts (kill -9, about 1 run in 7 under CPU load):
 * the headers reached the client 170 ms before the kill, the priming event never did.
 */
const STALL_MS = 600;
const SERVER = `
import { createServer } from 'node:http';
import { PassThrough } from 'node:stream';
import { serveWebHandler } from './app/http/web-adapter.ts';
import { sendUpstreamStreamHeaders } from './app/gateway/proxy.ts';
const encoder = new TextEncoder();
const PRIMING = 'id: stream-1_0-0\\nretry: 1000\\ndata: \\n\\n';
const ANSWER = 'event: message\\nid: stream-1_0-1\\ndata: {"jsonrpc":"2.0","id":1,"result":{}}\\n\\n';
const stall = () => { const until = Date.now() + ${STALL_MS}; while (Date.now() < until) {} };
// The node is descheduled right after its first write to the client's socket, as a node under CPU
// load may be between any two writes: whatever that write held is all the client has.
const stallAfterFirstWrite = (socket) => {
  const write = socket.write;
  socket.write = function (...args) {
    socket.write = write;
    const written = write.apply(this, args);
    stall();
    return written;
  };
};
const adapter = serveWebHandler(
  async () => {
    const body = new ReadableStream({
      start(controller) {
        controller.enqueue(encoder.encode(PRIMING));
        // The call runs on; its answer comes later.
        setTimeout(() => {
          controller.enqueue(encoder.encode(ANSWER));
          controller.close();
        }, 50);
      },
    });
    return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
  },
  { onError: () => new Response(null, { status: 500 }) },
);
const server = createServer((req, res) => {
  if (req.url === '/mcp') {
    stallAfterFirstWrite(req.socket);
    return adapter(req, res);
  }
  // The gateway (app/gateway/proxy.ts): headers, then the upstream's body piped on.
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  sendUpstreamStreamHeaders(res);
  const upstream = new PassThrough();
  upstream.write(PRIMING);
  process.nextTick(stall);
  upstream.pipe(res);
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
`;

let child: ChildProcess | undefined;
afterEach(() => {
  child?.kill('SIGKILL');
  child = undefined;
});

/** The bytes a client receives before the node, killed as they arrive, is gone. */
async function firstBytesBeforeTheKill(path: string): Promise<string> {
  const server = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', SERVER], {
    cwd: process.cwd(),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child = server;
  let out = '';
  server.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const port = await waitFor('the server to listen', () => {
    const line = out.split('\n').find((l) => l.startsWith('{'));
    return line ? (JSON.parse(line) as { port: number }).port : undefined;
  });
  const exited = new Promise((resolve) => server.once('exit', resolve));
  const received = await new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 0\r\n\r\n`);
    });
    let bytes = '';
    socket.on('data', (chunk: Buffer) => {
      if (bytes === '') server.kill('SIGKILL');
      bytes += chunk.toString();
    });
    socket.on('error', () => resolve(bytes));
    socket.on('close', () => resolve(bytes));
    setTimeout(() => reject(new Error(`no end after 10 s; received ${JSON.stringify(bytes)}`)), 10_000);
  });
  await exited;
  return received;
}

describe('event-stream headers leave the node with the first event', () => {
  it.each([
    ['/mcp', "a POST stream through the node's web adapter"],
    ['/piped', "an upstream's stream through the gateway"],
  ])(
    '%s: a client that has the headers of %s has its resumption id, even if the node dies right then',
    async (path) => {
      const received = await firstBytesBeforeTheKill(path);
      expect(received).toMatch(/^HTTP\/1\.1 200/);
      expect(received).toContain('content-type: text/event-stream');
      // Flushed on their own, the headers reached the client alone, STALL_MS before anything else.
      expect(received, 'the id to resume from arrived with the headers').toContain('id: stream-1_0-0');
    },
  );
});
