import { ElicitRequestSchema, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppNode, clusterEnv, startAppNode, TEST_STATE_KEY } from '../helpers/app-node.js';
import { connectLegacyClient, connectModernClient, structuredOf } from '../helpers/clients.js';
import { waitFor } from '../helpers/ports.js';
import { sessionIdInLogs } from '../helpers/security.js';
import { type SharedRedis, startSharedRedis } from '../helpers/shared-redis.js';

interface Confirmation {
  confirmed: boolean;
  action: string;
  askedOn: string;
  answeredOn: string;
}

describe('server→client messages across nodes, in every era (real Redis, three real nodes)', () => {
  let redis: SharedRedis;
  let nodes: AppNode[];

  beforeAll(async () => {
    redis = await startSharedRedis();
    nodes = await Promise.all(
      ['x-a', 'x-b', 'x-c'].map((nodeId) => startAppNode({ nodeId, env: clusterEnv(redis) })),
    );
  });

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await redis.close();
  });

  it('delivers a tools/list_changed published on one node to 2025 GET streams and 2026 listen streams on the others', async () => {
    const legacy = await connectLegacyClient(() => nodes[0]!.url); // its GET stream opens on A
    const legacyReceived: string[] = [];
    legacy.client.setNotificationHandler(ToolListChangedNotificationSchema, (n) => {
      legacyReceived.push(n.method);
    });
    const listener = await connectModernClient(() => nodes[1]!.url);
    const modernReceived: string[] = [];
    listener.client.setNotificationHandler('notifications/tools/list_changed', (n) => {
      modernReceived.push(n.method);
    });
    const subscription = await listener.client.listen({ toolsListChanged: true });

    // The 2025 client opens its GET stream in the background after initializing; until it is
    // open there is nobody to tell (pub/sub is at-most-once), so publish until both have heard.
    const publisher = await connectModernClient(() => nodes[2]!.url);
    await waitFor(
      'both clients to be told',
      async () => {
        await publisher.client.callTool({ name: 'notify_change', arguments: { kind: 'tools_list_changed' } });
        await new Promise((resolve) => setTimeout(resolve, 200));
        return legacyReceived.length > 0 && modernReceived.length > 0;
      },
      10_000,
    );
    expect(new Set(legacyReceived)).toEqual(new Set(['notifications/tools/list_changed']));
    expect(new Set(modernReceived)).toEqual(new Set(['notifications/tools/list_changed']));
    await subscription.close();
    await Promise.all([legacy.client.close(), listener.client.close(), publisher.client.close()]);
  });

  it('2025 era: an elicitation answer that lands on another node reaches the node waiting for it', async () => {
    let target = nodes[0]!.url;
    const { client, sessionId } = await connectLegacyClient(() => target, 'elicitation-client', {
      capabilities: { elicitation: {} },
    });
    const asked: { id: string | number; message: string }[] = [];
    client.setRequestHandler(ElicitRequestSchema, async (request, extra) => {
      asked.push({ id: extra.requestId, message: String(request.params.message) });
      target = nodes[1]!.url; // the answer is POSTed to B
      return { action: 'accept', content: { confirm: true } };
    });

    const result = structuredOf<Confirmation>(
      await client.callTool({ name: 'confirm', arguments: { action: 'deploy to staging' } }, undefined, {
        timeout: 15_000,
      }),
    );
    expect(result).toMatchObject({
      confirmed: true,
      action: 'deploy to staging',
      askedOn: 'x-a',
      answeredOn: 'x-a',
    });
    expect(asked).toHaveLength(1);
    expect(asked[0]!.message).toBe('Confirm: deploy to staging?');
    // The request id names the node that asked, which is how B knew where to relay the answer.
    expect(String(asked[0]!.id)).toMatch(/^x-a\.[0-9a-f]{8}~\d+$/);
    // B answered the client's POST 202 (its request log is written once the response has closed).
    await waitFor('B to log the relayed answer', () =>
      nodes[1]!.logs.some((l) => l.includes(sessionIdInLogs(sessionId()!)) && l.includes('"status":202')),
    );
    await client.close();
  });

  it('2025 era: a declined confirmation is reported as not confirmed', async () => {
    const { client } = await connectLegacyClient(() => nodes[2]!.url, 'declining-client', {
      capabilities: { elicitation: {} },
    });
    client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'decline' }));
    const result = structuredOf<Confirmation>(
      await client.callTool({ name: 'confirm', arguments: { action: 'drop the table' } }),
    );
    expect(result).toMatchObject({ confirmed: false, action: 'drop the table' });
    await client.close();
  });

  it('2026-07-28: the multi-round-trip retry is verified on another node with the shared MCP_STATE_KEY', async () => {
    let target = nodes[0]!.url;
    const { client } = await connectModernClient(() => target, 'mrtr-client', {
      capabilities: { elicitation: { form: {} } },
    });
    const asked: string[] = [];
    client.setRequestHandler('elicitation/create', async (request) => {
      asked.push(String((request.params as { message?: string }).message));
      target = nodes[2]!.url; // the retry carrying the answer goes to C
      return { action: 'accept', content: { confirm: true } };
    });
    const result = structuredOf<Confirmation>(
      await client.callTool({ name: 'confirm', arguments: { action: 'rotate the keys' } }),
    );
    expect(asked).toEqual(['Confirm: rotate the keys?']);
    expect(result).toEqual({ confirmed: true, action: 'rotate the keys', askedOn: 'x-a', answeredOn: 'x-c' });
    await client.close();
  });

  it('2026-07-28: during a key rotation, state sealed with the old key still verifies on a node with the new one', async () => {
    const rotated = await startAppNode({
      nodeId: 'x-rotated',
      env: clusterEnv(redis, {
        MCP_STATE_KEY: 'the-new-key-after-rotation-0123456789abcdefghij',
        MCP_STATE_KEY_PREVIOUS: TEST_STATE_KEY,
      }),
    });
    try {
      let target = nodes[0]!.url; // still on the old key: it seals the state
      const { client } = await connectModernClient(() => target, 'mrtr-rotation', {
        capabilities: { elicitation: { form: {} } },
      });
      client.setRequestHandler('elicitation/create', async () => {
        target = rotated.url; // the retry lands on a node that already has the new key
        return { action: 'accept', content: { confirm: true } };
      });
      const result = structuredOf<Confirmation>(
        await client.callTool({ name: 'confirm', arguments: { action: 'rotate MCP_STATE_KEY' } }),
      );
      expect(result).toMatchObject({ confirmed: true, askedOn: 'x-a', answeredOn: 'x-rotated' });
      await client.close();
    } finally {
      await rotated.stop();
    }
  });

  it('2026-07-28: a node with another MCP_STATE_KEY refuses the retry with a clear error', async () => {
    const stranger = await startAppNode({
      nodeId: 'x-wrong-key',
      env: clusterEnv(redis, { MCP_STATE_KEY: 'another-key-that-is-long-enough-0123456789abcdef' }),
    });
    try {
      let target = nodes[0]!.url;
      const { client } = await connectModernClient(() => target, 'mrtr-wrong-key', {
        capabilities: { elicitation: { form: {} } },
      });
      client.setRequestHandler('elicitation/create', async () => {
        target = stranger.url;
        return { action: 'accept', content: { confirm: true } };
      });
      await expect(client.callTool({ name: 'confirm', arguments: { action: 'anything' } })).rejects.toThrow(
        /Invalid or expired requestState/,
      );
      await waitFor('the operator log line', () =>
        stranger.logs.some((l) => l.includes('every node must share one MCP_STATE_KEY')),
      );
      await client.close();
    } finally {
      await stranger.stop();
    }
  });
});
