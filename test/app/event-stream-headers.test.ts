import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/ports.js';

/**
 * The headers of a POST's event stream and its priming event (the id a 2025-era client resumes
 * from) leave the node in one write. The server runs in a process of its own, with the node's HTTP
 * adapter (`toNodeHandler`) and its header flush (app/http/mcp-endpoint.ts), and a stream shaped
 * as the SDK's: the priming event queued before the response is returned, then the call running on
 * in the same tick (a synchronous stretch, as a node under load spends one) before its answer.
 *
 * What a client must never hold is the headers without the id: the v1 client resumes a broken POST
 * stream only from an event id, so if the node dies then, its call waits out its timeout. That is
 * what cost one call in test/e2e/cluster-faults.test.ts (kill -9, 1 run in ~10 under CPU load):
 * the headers reached the client 170 ms before the kill, the priming event never did.
 */
const SERVER = `
import { createServer } from 'node:http';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { flushEventStreamHeaders } from './app/http/mcp-endpoint.ts';
const encoder = new TextEncoder();
const handler = toNodeHandler({
  fetch: async () => {
    let answered = false;
    const body = new ReadableStream({
      start(controller) {
        controller.enqueue(encoder.encode('id: stream-1_0-0\\nretry: 1000\\ndata: \\n\\n'));
      },
      // Pulled once the adapter has read the priming event, after writeHead: the call runs on.
      pull(controller) {
        if (answered) return;
        answered = true;
        const until = Date.now() + ${600};
        while (Date.now() < until) {}
        controller.enqueue(encoder.encode('event: message\\nid: stream-1_0-1\\ndata: {"jsonrpc":"2.0","id":1,"result":{}}\\n\\n'));
        controller.close();
      },
    });
    return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
  },
});
const server = createServer((req, res) => handler(req, flushEventStreamHeaders(res)));
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
`;

let child: ChildProcess | undefined;
afterEach(() => {
  child?.kill('SIGKILL');
  child = undefined;
});

describe('event-stream headers leave the node with the priming event', () => {
  it('a client that has the headers of a POST stream has its resumption id, even if the node dies right then', async () => {
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

    // The first bytes that reach the client, and then the node is killed (kill -9 may come at any
    // moment; this is the worst one for a client that has just seen the headers).
    const received = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write('POST /mcp HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 0\r\n\r\n');
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

    expect(received).toMatch(/^HTTP\/1\.1 200/);
    expect(received).toContain('content-type: text/event-stream');
    // With the headers flushed on their own, the client got them alone, 600 ms before anything else.
    expect(received, 'the id to resume from arrived with the headers').toContain('id: stream-1_0-0');
  });
});
