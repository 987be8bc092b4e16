import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppNode, clusterEnv, startAppNode } from '../helpers/app-node.js';
import { connectLegacyClient, connectModernClient, textOf } from '../helpers/clients.js';
import { waitFor } from '../helpers/ports.js';
import { startTestRedis, type TestRedis } from '../helpers/redis-server.js';

/** What /health reports: server instances this node holds (2025 sessions busy or warm, 2024 streams). */
async function instancesOn(node: AppNode): Promise<number> {
  const health = (await (await fetch(`${node.url}/health`)).json()) as { activeSessions: number };
  return health.activeSessions;
}

describe('2025-era server instances: warm while used, never closed while busy (real Redis, one node)', () => {
  let redis: TestRedis;
  let node: AppNode;

  beforeAll(async () => {
    redis = await startTestRedis();
    // A tiny cache and a short warm time, so that pressure and expiry happen within the test.
    node = await startAppNode({
      nodeId: 'instances',
      env: clusterEnv(redis.url, { SESSION_CACHE_MAX: '5', SESSION_WARM_SECONDS: '1' }),
    });
  });

  afterAll(async () => {
    await node?.stop();
    await redis?.close();
  });

  it('finishes a 3 s call while 30 newer sessions push past the cache', async () => {
    const busy = await connectLegacyClient(() => node.url, 'long-call');
    const call = busy.client.callTool({ name: 'countdown', arguments: { seconds: 3 } });
    // Let the call start, then crowd the node with newer sessions, each making a call.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const crowd = await Promise.all(
      Array.from({ length: 30 }, (_, i) => connectLegacyClient(() => node.url, `crowd-${i}`)),
    );
    await Promise.all(crowd.map(({ client }) => client.callTool({ name: 'echo', arguments: { text: 'x' } })));
    expect(textOf(await call)).toBe('Counted down 3 s.');
    await Promise.all([busy.client.close(), ...crowd.map(({ client }) => client.close())]);
  });

  it('holds a GET stream without a server instance: idle instances close, and the stream still hears changes', async () => {
    const listener = await connectLegacyClient(() => node.url, 'listener');
    const heard: string[] = [];
    listener.client.setNotificationHandler(ToolListChangedNotificationSchema, (n) => {
      heard.push(n.method);
    });
    const idle = await connectLegacyClient(() => node.url, 'idle');
    const idleId = idle.sessionId() as string;
    // Closing the client ends its GET stream but not its session (no DELETE): it is merely idle.
    await idle.client.close();
    await new Promise((resolve) => setTimeout(resolve, 3_500)); // well past SESSION_WARM_SECONDS
    // Both are idle now: the listener's GET stream is held outside any server instance.
    await waitFor('idle instances to be closed', async () => (await instancesOn(node)) === 0, 5_000);

    const publisher = await connectModernClient(() => node.url);
    await waitFor(
      'the listener to hear a tools/list_changed on the stream it opened seconds ago',
      async () => {
        await publisher.client.callTool({ name: 'notify_change', arguments: { kind: 'tools_list_changed' } });
        await new Promise((resolve) => setTimeout(resolve, 200));
        return heard.length > 0;
      },
      5_000,
    );
    // The idle session lost only its instance: the next call rebuilds it from the record.
    const echoed = await fetch(`${node.url}/mcp`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': idleId,
        'mcp-protocol-version': '2025-11-25',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'echo', arguments: { text: 'still here' } },
      }),
    });
    expect(echoed.status).toBe(200);
    expect(await echoed.text()).toContain('still here');
    await Promise.all([listener.client.close(), publisher.client.close()]);
  });
});
