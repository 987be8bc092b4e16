import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppNode, clusterEnv, startAppNode } from '../helpers/app-node.js';
import { connectLegacyClient, connectModernClient, structuredOf, textOf } from '../helpers/clients.js';
import { type SharedRedis, startSharedRedis } from '../helpers/shared-redis.js';

interface NodeInfo {
  nodeId: string;
  era: string;
  protocolVersion: string;
  transport: string;
  sessionId: string | null;
}

describe('any node serves any client (real Redis, three real nodes)', () => {
  let redis: SharedRedis;
  let nodes: AppNode[];

  beforeAll(async () => {
    redis = await startSharedRedis();
    nodes = await Promise.all(
      ['node-a', 'node-b', 'node-c'].map((nodeId) => startAppNode({ nodeId, env: clusterEnv(redis) })),
    );
  });

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await redis.close();
  });

  describe('2025-era sessions (v1 SDK client)', () => {
    it('initializes on A and calls tools on B, in the same session', async () => {
      let target = nodes[0]!.url;
      const { client, sessionId } = await connectLegacyClient(() => target);
      target = nodes[1]!.url;
      const info = structuredOf<NodeInfo>(await client.callTool({ name: 'node_info', arguments: {} }));
      expect(info.nodeId).toBe('node-b');
      expect(info.sessionId).toBe(sessionId());
      expect(info.era).toBe('2025-era');
      expect(info.protocolVersion).toMatch(/^2025-/);
      expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'héllo ✓' } }))).toBe('héllo ✓');
      await client.close();
    });

    it('remembers on A and recalls on B and C; other sessions do not see it', async () => {
      let target = nodes[0]!.url;
      const { client } = await connectLegacyClient(() => target);
      await client.callTool({ name: 'remember', arguments: { key: 'colour', value: 'teal' } });
      target = nodes[1]!.url;
      expect(
        structuredOf(await client.callTool({ name: 'recall', arguments: { key: 'colour' } })),
      ).toMatchObject({
        value: 'teal',
        found: true,
      });
      target = nodes[2]!.url;
      expect(
        structuredOf(await client.callTool({ name: 'recall', arguments: { key: 'colour' } })),
      ).toMatchObject({
        value: 'teal',
      });

      const other = await connectLegacyClient(() => nodes[1]!.url);
      expect(
        structuredOf(await other.client.callTool({ name: 'recall', arguments: { key: 'colour' } })),
      ).toMatchObject({
        found: false,
      });
      await Promise.all([client.close(), other.client.close()]);
    });

    it('keeps the session on B after A is killed with SIGKILL', async () => {
      const victim = await startAppNode({ nodeId: 'node-victim', env: clusterEnv(redis) });
      let target = victim.url;
      const { client, sessionId } = await connectLegacyClient(() => target);
      await client.callTool({ name: 'remember', arguments: { key: 'k', value: 'survives' } });
      victim.kill('SIGKILL');
      expect(await victim.exited).toBe('SIGKILL');

      target = nodes[1]!.url;
      const info = structuredOf<NodeInfo>(await client.callTool({ name: 'node_info', arguments: {} }));
      expect(info).toMatchObject({ nodeId: 'node-b', sessionId: sessionId() });
      expect(structuredOf(await client.callTool({ name: 'recall', arguments: { key: 'k' } }))).toMatchObject({
        value: 'survives',
      });
      const tools = await client.listTools();
      expect(tools.tools.map((t) => t.name)).toEqual(
        expect.arrayContaining(['echo', 'node_info', 'remember', 'recall', 'countdown']),
      );
      await client.close();
    });

    it('restores a session once when a burst of requests reaches a node that never saw it', async () => {
      let target = nodes[0]!.url;
      const { client } = await connectLegacyClient(() => target);
      target = nodes[2]!.url;
      const before = await restoresOn(nodes[2]!);
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          client.callTool({ name: 'echo', arguments: { text: `burst-${i}` } }),
        ),
      );
      expect(results.map(textOf)).toEqual(Array.from({ length: 8 }, (_, i) => `burst-${i}`));
      expect((await restoresOn(nodes[2]!)) - before).toBe(1);
      await client.close();
    });

    it('answers 404 on every node once the session is deleted on one of them', async () => {
      const { client, transport, sessionId } = await connectLegacyClient(() => nodes[0]!.url);
      await client.callTool({ name: 'echo', arguments: { text: 'warm A' } });
      const id = sessionId()!;
      // DELETE through node B (the v1 client's own terminateSession).
      (transport as unknown as { _url: URL })._url = new URL('/mcp', nodes[1]!.url);
      await transport.terminateSession();
      for (const node of nodes) {
        const response = await postToolCall(node.url, id);
        expect(response.status).toBe(404);
        expect(await response.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32001 } });
      }
      expect(await redis.client().exists(`test:session:{${id}}`)).toBe(0);
    });

    it('answers 400 without a session id and 404 for an unknown one, as JSON-RPC errors', async () => {
      const missing = await postToolCall(nodes[0]!.url, undefined);
      expect(missing.status).toBe(400);
      expect(await missing.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32000 } });
      const unknown = await postToolCall(nodes[0]!.url, 'A'.repeat(32));
      expect(unknown.status).toBe(404);
      const malformed = await postToolCall(nodes[0]!.url, '../../etc/passwd');
      expect(malformed.status).toBe(404);
    });

    it('stores the session record as a hash with a sliding TTL', async () => {
      const { client, sessionId } = await connectLegacyClient(() => nodes[0]!.url, 'record-check');
      await client.callTool({ name: 'echo', arguments: { text: 'x' } });
      const key = `test:session:{${sessionId()}}`;
      const plain = redis.client();
      const record = await plain.hgetall(key);
      expect(JSON.parse(record.initializeParams!)).toMatchObject({ clientInfo: { name: 'record-check' } });
      expect(record.principal).toBe('anonymous');
      expect(record.protocolVersion).toMatch(/^2025-/);
      expect(Number(record.createdAt)).toBeGreaterThan(0);
      await plain.expire(key, 100);
      await client.callTool({ name: 'echo', arguments: { text: 'slide' } });
      expect(await plain.ttl(key)).toBeGreaterThan(1700);
      await client.close();
    });
  });

  describe('2026-07-28 (v2 SDK client, no sessions)', () => {
    it('serves every request on whichever node receives it', async () => {
      let target = nodes[0]!.url;
      const { client } = await connectModernClient(() => target);
      const seen: string[] = [];
      for (const node of nodes) {
        target = node.url;
        const info = structuredOf<NodeInfo>(await client.callTool({ name: 'node_info', arguments: {} }));
        expect(info.era).toBe('2026-07-28');
        expect(info.sessionId).toBeNull();
        seen.push(info.nodeId);
      }
      expect(seen).toEqual(['node-a', 'node-b', 'node-c']);
      await client.close();
    });

    it('remembers on A and recalls on B, scoped to the principal', async () => {
      let target = nodes[0]!.url;
      const { client } = await connectModernClient(() => target);
      await client.callTool({ name: 'remember', arguments: { key: 'modern-key', value: 'v2026' } });
      target = nodes[1]!.url;
      expect(
        structuredOf(await client.callTool({ name: 'recall', arguments: { key: 'modern-key' } })),
      ).toMatchObject({
        value: 'v2026',
      });
      expect(await redis.client().hget('test:principal:{anonymous}:memory', 'modern-key')).toBe('v2026');
      await client.close();
    });
  });
});

async function postToolCall(baseUrl: string, sessionId: string | undefined): Promise<Response> {
  return fetch(new URL('/mcp', baseUrl), {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(sessionId ? { 'mcp-session-id': sessionId } : {}),
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 7,
      method: 'tools/call',
      params: { name: 'echo', arguments: { text: 'x' } },
    }),
  });
}

async function restoresOn(node: AppNode): Promise<number> {
  const text = await (await fetch(new URL('/metrics', node.url))).text();
  const match = /^mcp_session_restores_total\{[^}]*outcome="ok"[^}]*\} (\d+)/m.exec(text);
  return match ? Number(match[1]) : 0;
}
