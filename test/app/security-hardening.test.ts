import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppNode, startAppNode } from '../helpers/app-node.js';
import { initializeRequest } from '../helpers/raw-streamable.js';
import { MCP_POST_HEADERS, rawRequest, slowBody } from '../helpers/security.js';

const INITIALIZE = JSON.stringify(initializeRequest('raw'));
/** A 2026-07-28 request: the per-request envelope claim routes it to the stateless handler. */
const MODERN_CALL = JSON.stringify({
  jsonrpc: '2.0',
  id: 2,
  method: 'tools/list',
  params: {
    _meta: {
      'io.modelcontextprotocol/protocolVersion': '2026-07-28',
      'io.modelcontextprotocol/clientCapabilities': {},
      'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
    },
  },
});
const MODERN_HEADERS = { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/list' };

describe('HTTP hardening on every MCP route', () => {
  let node: AppNode;

  beforeAll(async () => {
    node = await startAppNode({
      nodeId: 'hardened',
      env: { REQUEST_BODY_TIMEOUT_SECONDS: '1', MAX_BATCH_SIZE: '4', ALLOWED_ORIGINS: 'app.example.com' },
    });
  });
  afterAll(() => node.stop());

  const post = (headers: Record<string, string>, body: string | Buffer = INITIALIZE, path = '/mcp') =>
    rawRequest(node.url, { headers: { host: new URL(node.url).host, ...headers }, body, path });

  it('sends helmet security headers', async () => {
    const response = await post(MCP_POST_HEADERS);
    expect(response.status).toBe(200);
    expect(response.headers).toMatchObject({
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'SAMEORIGIN',
      'strict-transport-security': expect.stringContaining('max-age='),
      'content-security-policy': expect.stringContaining("default-src 'self'"),
      'cross-origin-resource-policy': 'same-origin',
    });
    expect(response.headers['x-powered-by']).toBeUndefined();
  });

  it('answers 403 for an Origin not in ALLOWED_ORIGINS and for a Host not allowed (DNS rebinding)', async () => {
    expect((await post({ ...MCP_POST_HEADERS, origin: 'https://evil.example' })).status).toBe(403);
    expect((await post({ ...MCP_POST_HEADERS, origin: 'https://app.example.com' })).status).toBe(200);
    const rebound = await post({ ...MCP_POST_HEADERS, host: 'attacker.example:80' });
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.body)).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 }, id: null });
    expect((await post({ ...MCP_POST_HEADERS, origin: 'https://evil.example' }, '', '/sse')).status).toBe(
      403,
    );
  });

  it.each([
    ['2025', INITIALIZE, {}],
    ['2026', MODERN_CALL, MODERN_HEADERS],
  ])('holds %s-era POSTs to strict Content-Type (415) and Accept (406)', async (_era, body, extra) => {
    const asText = await post({ ...MCP_POST_HEADERS, ...extra, 'content-type': 'text/plain' }, body);
    expect(asText.status).toBe(415);
    expect(JSON.parse(asText.body)).toMatchObject({
      error: { message: expect.stringContaining('application/json') },
    });
    const jsonOnly = await post({ ...MCP_POST_HEADERS, ...extra, accept: 'application/json' }, body);
    expect(jsonOnly.status).toBe(406);
    expect((await post({ ...MCP_POST_HEADERS, ...extra }, body)).status).toBe(200);
  });

  it('answers 415 on POST /messages without a JSON Content-Type', async () => {
    expect((await post({ 'content-type': 'text/plain' }, '{}', '/messages?sessionId=x')).status).toBe(415);
  });

  it('refuses a body over 4 MB with 413 before parsing it', async () => {
    const huge = Buffer.alloc(4 * 1024 * 1024 + 1, 'a');
    const response = await post(MCP_POST_HEADERS, huge);
    expect(response.status).toBe(413);
    expect(JSON.parse(response.body)).toMatchObject({ error: { message: expect.stringContaining('4mb') } });
  });

  it('caps JSON-RPC batches (MAX_BATCH_SIZE) and refuses empty ones and deep nesting with 400', async () => {
    const ping = { jsonrpc: '2.0', method: 'notifications/initialized' };
    const tooMany = await post(MCP_POST_HEADERS, JSON.stringify(Array.from({ length: 5 }, () => ping)));
    expect(tooMany.status).toBe(400);
    expect(JSON.parse(tooMany.body)).toMatchObject({
      error: { code: -32600, message: expect.stringContaining('limit is 4') },
    });
    expect((await post(MCP_POST_HEADERS, '[]')).status).toBe(400);
    const deep = `{"jsonrpc":"2.0","id":1,"method":"ping","params":${'{"a":'.repeat(100)}1${'}'.repeat(100)}}`;
    expect((await post(MCP_POST_HEADERS, deep)).status).toBe(400);
  });

  it('closes a slowloris body with 408 after REQUEST_BODY_TIMEOUT_SECONDS and stays healthy', async () => {
    const { response, closedAfterMs } = await slowBody(node.url, 1000);
    expect(response).toMatch(/^HTTP\/1\.1 408 /);
    expect(closedAfterMs).toBeGreaterThanOrEqual(900);
    expect(closedAfterMs).toBeLessThan(5_000);
    expect((await fetch(new URL('/health', node.url))).status).toBe(200);
  });
});
