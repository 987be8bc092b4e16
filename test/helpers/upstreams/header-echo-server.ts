/**
 * A small stateful upstream MCP server for the gateway tests, built the way most third-party
 * servers are: the v1 SDK's `StreamableHTTPServerTransport`, one transport per session, kept in
 * this process's memory. It reports what it received, so tests can see what the gateway sent.
 *
 *   INSTANCE=echo-1 PORT=0 HOST=127.0.0.1 node --import tsx test/helpers/upstreams/header-echo-server.ts
 *
 * Prints one JSON line `{"msg":"listening","url":…}` once it accepts connections.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

const instance = process.env.INSTANCE ?? 'echo';
const transports = new Map<string, StreamableHTTPServerTransport>();

function createMcpServer(): McpServer {
  const server = new McpServer({ name: 'header-echo', version: '1.0.0' });
  server.registerTool(
    'received',
    { description: 'The instance that served this call, its session id, and the HTTP headers it received.' },
    async (extra) => {
      const report = {
        instance,
        sessionId: extra.sessionId ?? null,
        headers: extra.requestInfo?.headers ?? {},
      };
      return { content: [{ type: 'text', text: JSON.stringify(report) }], structuredContent: report };
    },
  );
  server.registerTool(
    'slow',
    {
      description: 'Answers after `ms` milliseconds.',
      inputSchema: { ms: z.number().int().min(0).max(60_000) },
    },
    async ({ ms }) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return { content: [{ type: 'text', text: `slept ${ms} ms on ${instance}` }] };
    },
  );
  return server;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

const http = createServer(async (req, res) => {
  try {
    const sessionId = req.headers['mcp-session-id'];
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    if (typeof sessionId === 'string') {
      const transport = transports.get(sessionId);
      if (!transport) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }),
        );
        return;
      }
      await transport.handleRequest(req, res, body);
      return;
    }
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        transports.set(id, transport);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) transports.delete(transport.sessionId);
    };
    await createMcpServer().connect(transport);
    await transport.handleRequest(req, res, body);
  } catch (err) {
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32603, message: String(err) }, id: null }));
  }
});

http.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  const { address, port } = http.address() as AddressInfo;
  process.stdout.write(
    `${JSON.stringify({ msg: 'listening', url: `http://${address}:${port}`, instance })}\n`,
  );
});
process.on('SIGTERM', () => http.close(() => process.exit(0)));
