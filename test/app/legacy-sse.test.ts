import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppNode, clusterEnv, startAppNode } from '../helpers/app-node.js';
import { connectModernClient, connectSseClient, structuredOf, textOf } from '../helpers/clients.js';
import { waitFor } from '../helpers/ports.js';
import { sessionIdInLogs } from '../helpers/security.js';
import { type SharedRedis, startSharedRedis } from '../helpers/shared-redis.js';

interface NodeInfo {
  nodeId: string;
  transport: string;
  sessionId: string | null;
}

describe('the 2024-11-05 HTTP+SSE transport across nodes (real Redis, real v1 SSEClientTransport)', () => {
  let redis: SharedRedis;
  let nodes: AppNode[];

  beforeAll(async () => {
    redis = await startSharedRedis();
    nodes = await Promise.all(
      ['sse-a', 'sse-b'].map((nodeId) =>
        startAppNode({ nodeId, env: clusterEnv(redis, { SSE_HEARTBEAT_SECONDS: '1' }) }),
      ),
    );
  });

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await redis.close();
  });

  it('GET /sse flushes its headers and announces the POST endpoint at once', async () => {
    const controller = new AbortController();
    const response = await fetch(new URL('/sse', nodes[0]!.url), {
      headers: { accept: 'text/event-stream' },
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = response.body!.getReader();
    const { value } = await reader.read();
    expect(new TextDecoder().decode(value)).toMatch(
      /^event: endpoint\ndata: \/messages\?sessionId=[A-Za-z0-9_-]{32}\n\n/,
    );
    controller.abort();
  });

  it('relays POSTs that reach another node to the node holding the stream', async () => {
    let target = nodes[0]!.url;
    const { client } = await connectSseClient(() => target);
    target = nodes[1]!.url; // every POST from now on lands on B; the stream stays on A
    const info = structuredOf<NodeInfo>(await client.callTool({ name: 'node_info', arguments: {} }));
    expect(info).toMatchObject({ nodeId: 'sse-a', transport: 'sse' });
    await client.callTool({ name: 'remember', arguments: { key: 'city', value: 'Lyon' } });
    expect(structuredOf(await client.callTool({ name: 'recall', arguments: { key: 'city' } }))).toMatchObject(
      {
        value: 'Lyon',
      },
    );
    // B accepted all three POSTs (request logs are written once each response has closed).
    const onB = () =>
      nodes[1]!.logs.filter(
        (l) => l.includes('"route":"/messages"') && l.includes(sessionIdInLogs(info.sessionId!)),
      );
    await waitFor('B to log the relayed POSTs', () => onB().length >= 3);
    expect(onB().every((l) => l.includes('"status":202'))).toBe(true);
    await client.close();
  });

  it('answers 410 once the owner is killed, and the session continues after GET /sse?sessionId= on another node', async () => {
    const victim = await startAppNode({ nodeId: 'sse-victim', env: clusterEnv(redis) });
    let target = victim.url;
    const { client, transport } = await connectSseClient(() => target);
    const before = structuredOf<NodeInfo>(await client.callTool({ name: 'node_info', arguments: {} }));
    await client.callTool({ name: 'remember', arguments: { key: 'k', value: 'survives' } });
    expect(await redis.client().exists(`test:session:{${before.sessionId}}:sse-owner`)).toBe(1);

    victim.kill('SIGKILL');
    await victim.exited;
    target = nodes[1]!.url;
    await expect(client.callTool({ name: 'echo', arguments: { text: 'lost?' } })).rejects.toThrow(/HTTP 410/);
    const gone = await postMessage(nodes[0]!.url, before.sessionId!);
    expect(gone.status).toBe(410);
    expect(await gone.json()).toMatchObject({
      jsonrpc: '2.0',
      error: { code: -32000, data: { reconnect: `/sse?sessionId=${before.sessionId}` } },
    });

    await transport.close();
    await connectSseClient(() => target, { path: `/sse?sessionId=${before.sessionId}`, client });
    const after = structuredOf<NodeInfo>(await client.callTool({ name: 'node_info', arguments: {} }));
    expect(after).toMatchObject({ nodeId: 'sse-b', sessionId: before.sessionId });
    expect(structuredOf(await client.callTool({ name: 'recall', arguments: { key: 'k' } }))).toMatchObject({
      value: 'survives',
    });
    target = nodes[0]!.url; // and POSTs through A are relayed to the new owner, B
    expect(structuredOf<NodeInfo>(await client.callTool({ name: 'node_info', arguments: {} })).nodeId).toBe(
      'sse-b',
    );
    await client.close();
  });

  it('delivers a tools/list_changed published on another node, in another era, down the SSE stream', async () => {
    const { client } = await connectSseClient(() => nodes[0]!.url);
    const received: string[] = [];
    client.setNotificationHandler(ToolListChangedNotificationSchema, (n) => {
      received.push(n.method);
    });
    const modern = await connectModernClient(() => nodes[1]!.url);
    await modern.client.callTool({ name: 'notify_change', arguments: { kind: 'tools_list_changed' } });
    await waitFor('the SSE client to receive tools/list_changed', () => received.length > 0, 5_000);
    expect(received).toEqual(['notifications/tools/list_changed']);
    await Promise.all([client.close(), modern.client.close()]);
  });

  it('counts SSE sessions in /health and mcp_active_sessions', async () => {
    const node = nodes[1]!;
    const count = async () =>
      ((await (await fetch(new URL('/health', node.url))).json()) as { activeSessions: number })
        .activeSessions;
    const metric = async () =>
      Number(
        /^mcp_active_sessions\{[^}]*\} (\d+)/m.exec(
          await (await fetch(new URL('/metrics', node.url))).text(),
        )?.[1],
      );
    const [health0, metric0] = [await count(), await metric()];
    const { client } = await connectSseClient(() => node.url);
    expect(await count()).toBe(health0 + 1);
    expect(await metric()).toBe(metric0 + 1);
    await client.close();
    await waitFor('the closed stream to be forgotten', async () => (await count()) === health0, 5_000);
    expect(await metric()).toBe(metric0);
  });

  it('refuses bad requests with the right status and a JSON-RPC error', async () => {
    const url = nodes[0]!.url;
    const missing = await fetch(new URL('/messages', url), { method: 'POST', headers: json, body: '{}' });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32000 } });
    expect((await postMessage(url, 'A'.repeat(32))).status).toBe(404);
    expect((await postMessage(url, '../etc/passwd')).status).toBe(404);
    const resumeUnknown = await fetch(new URL(`/sse?sessionId=${'B'.repeat(32)}`, url), {
      headers: { accept: 'text/event-stream' },
    });
    expect(resumeUnknown.status).toBe(404);
    expect(await resumeUnknown.json()).toMatchObject({ error: { code: -32001 } });

    const { client } = await connectSseClient(() => url);
    const { sessionId } = structuredOf<NodeInfo>(await client.callTool({ name: 'node_info', arguments: {} }));
    const notRpc = await fetch(new URL(`/messages?sessionId=${sessionId}`, url), {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ hello: 'world' }),
    });
    expect(notRpc.status).toBe(400);
    expect(await notRpc.json()).toMatchObject({ error: { code: -32600 } });
    const text = await fetch(new URL(`/messages?sessionId=${sessionId}`, url), {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'ping',
    });
    expect(text.status).toBe(415);
    await client.close();
  });

  it('closes its SSE streams and gives up their ownership when drained', async () => {
    const draining = await startAppNode({ nodeId: 'sse-draining', env: clusterEnv(redis) });
    const { client } = await connectSseClient(() => draining.url);
    const closed = new Promise<void>((resolve) => {
      client.onerror = () => resolve();
    });
    const { sessionId } = structuredOf<NodeInfo>(await client.callTool({ name: 'node_info', arguments: {} }));
    draining.kill('SIGTERM');
    expect(await draining.exited).toBe(0);
    await closed;
    expect(await redis.client().exists(`test:session:{${sessionId}}:sse-owner`)).toBe(0);
    expect(await redis.client().exists(`test:session:{${sessionId}}`)).toBe(1);
    await client.close();
  });

  it('while draining, finishes the calls it took and answers new ones with 410, relayed or not', async () => {
    const draining = await startAppNode({
      nodeId: 'sse-finishing',
      env: clusterEnv(redis, { SHUTDOWN_GRACE_SECONDS: '15' }),
    });
    const { client } = await connectSseClient(() => draining.url);
    const { sessionId } = structuredOf<NodeInfo>(await client.callTool({ name: 'node_info', arguments: {} }));
    const inFlight = client.callTool({ name: 'countdown', arguments: { seconds: 2 } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    draining.kill('SIGTERM');
    await waitFor('the node to drain', () => draining.logs.some((l) => l.includes('"msg":"draining"')));

    // A new call relayed from B to the draining owner: refused, so the client moves and resends.
    const relayed = await postMessage(nodes[1]!.url, sessionId!);
    expect(relayed.status).toBe(410);
    // The call it had already taken still answers down the stream.
    expect(textOf(await inFlight)).toBe('Counted down 2 s.');
    expect(await draining.exited).toBe(0);
    await client.close();
  });
});

const json = { 'content-type': 'application/json' };

function postMessage(baseUrl: string, sessionId: string): Promise<Response> {
  return fetch(new URL(`/messages?sessionId=${encodeURIComponent(sessionId)}`, baseUrl), {
    method: 'POST',
    headers: json,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'echo', arguments: { text: 'x' } },
    }),
  });
}
