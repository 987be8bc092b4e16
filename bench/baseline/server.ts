/**
 * The baseline every scenario is compared with: a plain MCP SDK server as its own examples build it,
 * in memory, with no Redis, no logging and no metrics, serving the same `echo` tool.
 *
 * - 2025 era: the SDK's stateful wiring, one NodeStreamableHTTPServerTransport per session, kept in a Map.
 * - 2026-07-28: the SDK's `createMcpHandler` with its in-process event bus.
 *
 * It runs as a child process, like our nodes, and prints the same `listening` line they do.
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createMcpExpressApp } from '@modelcontextprotocol/express';
import { NodeStreamableHTTPServerTransport, toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, isInitializeRequest, McpServer } from '@modelcontextprotocol/server';
import { echo } from '../../app/mcp/tools/echo.js';

function createServer(): McpServer {
  const server = new McpServer({ name: 'sdk-baseline', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.registerTool(
    echo.name,
    {
      title: echo.title,
      description: echo.description,
      inputSchema: echo.input,
      annotations: echo.annotations,
    },
    async (args) => ({ content: [{ type: 'text' as const, text: String(args.text) }] }),
  );
  return server;
}

function carriesModernEnvelope(body: unknown): boolean {
  const meta = (body as { params?: { _meta?: Record<string, unknown> } } | undefined)?.params?._meta;
  return typeof meta?.['io.modelcontextprotocol/protocolVersion'] === 'string';
}

const sessions = new Map<string, NodeStreamableHTTPServerTransport>();
const modern = createMcpHandler(() => createServer(), { legacy: 'reject' });
const modernNode = toNodeHandler(modern);

const app = createMcpExpressApp({ host: '127.0.0.1' });
app.all('/mcp', async (req, res) => {
  // A plain deployment serves one era and does not route at all; this cheap check (the 2026
  // envelope's protocol version in `_meta`) keeps the baseline from paying for routing.
  if (carriesModernEnvelope(req.body)) {
    await modernNode(req, res, req.body);
    return;
  }
  const sessionId = req.header('mcp-session-id');
  let transport = sessionId ? sessions.get(sessionId) : undefined;
  if (!transport) {
    if (sessionId || req.method !== 'POST' || !isInitializeRequest(req.body)) {
      res.status(sessionId ? 404 : 400).json({
        jsonrpc: '2.0',
        error: { code: -32000, message: sessionId ? 'Session not found' : 'Bad Request' },
        id: null,
      });
      return;
    }
    const created = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, created);
      },
    });
    created.onclose = () => {
      if (created.sessionId) sessions.delete(created.sessionId);
    };
    await createServer().connect(created);
    transport = created;
  }
  await transport.handleRequest(req, res, req.body);
});

const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', (err?: Error) => {
  if (err) throw err;
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ msg: 'listening', url: `http://127.0.0.1:${port}` })}\n`);
});
server.requestTimeout = 0;
