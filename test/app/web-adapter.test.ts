import { type ChildProcess, spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/ports.js';

/**
 * A GET event stream that its node cuts (its body errors: a client that stopped reading, a replay
 * that failed; app/sessions/get-streams.ts) through the node's web adapter (app/http/web-adapter.ts),
 * in a process of its own so that what it prints is seen. The client must get what was sent and a
 * clean end, from which it resumes with Last-Event-ID; the node must print nothing outside its JSON
 * log (the adapter's own fallback prints the error's stack to stderr).
 */
const SERVER = `
import { createServer } from 'node:http';
import { serveWebHandler } from './app/http/web-adapter.ts';
const encoder = new TextEncoder();
const handler = serveWebHandler(
  async () => {
    const body = new ReadableStream({
      start(controller) {
        controller.enqueue(encoder.encode('id: stream-1_0-1\\ndata: {}\\n\\n'));
        setTimeout(() => controller.error(new Error('client not reading')), 50);
      },
    });
    return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
  },
  { onError: () => new Response(null, { status: 500 }) },
);
const server = createServer((req, res) => void handler(req, res));
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
`;

let child: ChildProcess | undefined;
afterEach(() => {
  child?.kill('SIGKILL');
  child = undefined;
});

describe('the web adapter', () => {
  it('ends a GET event stream its node cuts, and prints nothing outside the JSON log', async () => {
    const server = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', SERVER], {
      cwd: process.cwd(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = server;
    let out = '';
    let err = '';
    server.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    server.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    const port = await waitFor('the server to listen', () => {
      const line = out.split('\n').find((l) => l.startsWith('{'));
      return line ? (JSON.parse(line) as { port: number }).port : undefined;
    });

    const response = await fetch(`http://127.0.0.1:${port}/mcp`, {
      headers: { accept: 'text/event-stream' },
    });
    expect(response.status).toBe(200);
    // A reset connection would reject here ("terminated").
    expect(await response.text()).toBe('id: stream-1_0-1\ndata: {}\n\n');
    // Give a late print time to arrive.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(err).toBe('');
    expect(out.trim().split('\n')).toEqual([JSON.stringify({ port })]);
  });
});
