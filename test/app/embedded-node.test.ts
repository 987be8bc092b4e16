import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppNode, startAppNode } from '../helpers/app-node.js';
import { connectLegacyClient, connectModernClient, structuredOf, textOf } from '../helpers/clients.js';

describe('single node on the embedded store (no REDIS_URL)', () => {
  let node: AppNode;

  beforeAll(async () => {
    node = await startAppNode({ nodeId: 'solo' });
  });
  afterAll(() => node.stop());

  it('says loudly that it is a single node, in its log and in /health', async () => {
    expect(node.logs.some((l) => l.includes('SINGLE NODE') && l.includes('"level":"warn"'))).toBe(true);
    const response = await fetch(new URL('/health', node.url));
    expect(response.status).toBe(200);
    const health = (await response.json()) as { activeSessions: unknown; timestamp: string };
    expect(health).toMatchObject({
      status: 'healthy',
      nodeId: 'solo',
      mode: 'single-node',
      checks: { redis: { status: 'embedded' } },
    });
    expect(typeof health.activeSessions).toBe('number');
    expect(new Date(health.timestamp).getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect((await fetch(new URL('/ready', node.url))).status).toBe(200);
  });

  it('serves a 2025-era session with memory, and a 2026 client', async () => {
    const legacy = await connectLegacyClient(() => node.url);
    await legacy.client.callTool({ name: 'remember', arguments: { key: 'a', value: '1' } });
    expect(
      structuredOf(await legacy.client.callTool({ name: 'recall', arguments: { key: 'a' } })),
    ).toMatchObject({
      value: '1',
    });
    const modern = await connectModernClient(() => node.url);
    expect(textOf(await modern.client.callTool({ name: 'echo', arguments: { text: 'hi' } }))).toBe('hi');
    // Memory is per session in the 2025 era and per principal in 2026: they do not mix.
    expect(
      structuredOf(await modern.client.callTool({ name: 'recall', arguments: { key: 'a' } })),
    ).toMatchObject({
      found: false,
    });
    await Promise.all([legacy.client.close(), modern.client.close()]);
  });

  it('streams progress notifications from countdown', async () => {
    const { client } = await connectLegacyClient(() => node.url);
    const progress: number[] = [];
    const result = await client.callTool({ name: 'countdown', arguments: { seconds: 2 } }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    });
    expect(textOf(result)).toBe('Counted down 2 s.');
    expect(progress).toEqual([1, 2]);
    await client.close();
  });

  it('counts tool calls, sessions and requests in /metrics', async () => {
    const { client } = await connectLegacyClient(() => node.url);
    await client.callTool({ name: 'echo', arguments: { text: 'count me' } });
    await client.callTool({ name: 'echo', arguments: { text: 'and me' } });
    const response = await fetch(new URL('/metrics', node.url));
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    const echoCalls = /^mcp_tool_calls_total\{tool="echo",status="ok",node_id="solo"\} (\d+)/m.exec(text);
    expect(Number(echoCalls?.[1])).toBeGreaterThanOrEqual(2);
    expect(text).toMatch(/^mcp_tool_duration_seconds_count\{[^}]*tool="echo"[^}]*\} [1-9]/m);
    expect(text).toMatch(/^mcp_active_sessions\{node_id="solo"\} [1-9]/m);
    expect(text).toMatch(/^mcp_http_requests_total\{route="\/mcp",status="200",node_id="solo"\} \d+/m);
    expect(text).toMatch(/^process_cpu_seconds_total/m);
    await client.close();
  });

  it('answers malformed JSON with 400 and a JSON-RPC parse error, and stays up', async () => {
    const response = await fetch(new URL('/mcp', node.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: '{"jsonrpc": "2.0", "id": 1, "method": ',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32700 }, id: null });
    expect((await fetch(new URL('/health', node.url))).status).toBe(200);
  });
});
