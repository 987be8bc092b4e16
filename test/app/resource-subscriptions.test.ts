import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppNode, clusterEnv, startAppNode } from '../helpers/app-node.js';
import { connectLegacyClient, connectModernClient } from '../helpers/clients.js';
import { waitFor } from '../helpers/ports.js';
import { type SharedRedis, startSharedRedis } from '../helpers/shared-redis.js';

const WATCHED = 'test://watched-resource';
const OTHER = 'test://static-text';

/**
 * 2025-era resource subscriptions live in the session record, so a subscription made through one
 * node is honoured by the node holding the client's GET stream. Runs with the conformance
 * fixtures, which provide subscribable resources.
 */
describe('2025-era resources/updated across nodes (real Redis, two real nodes)', () => {
  let redis: SharedRedis;
  let nodes: AppNode[];

  beforeAll(async () => {
    redis = await startSharedRedis();
    nodes = await Promise.all(
      ['sub-a', 'sub-b'].map((nodeId) =>
        startAppNode({ nodeId, env: clusterEnv(redis, { MCP_CONFORMANCE_FIXTURES: '1' }) }),
      ),
    );
  });

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await redis.close();
  });

  it('delivers updates for subscribed resources only, on the node holding the stream', async () => {
    let target = nodes[0]!.url;
    const legacy = await connectLegacyClient(() => target); // its GET stream opens on A
    const updated: string[] = [];
    legacy.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updated.push(n.params.uri);
    });
    target = nodes[1]!.url;
    await legacy.client.subscribeResource({ uri: WATCHED }); // through B
    const record = await redis.client().hget(`test:session:{${legacy.sessionId()}}`, 'subscriptions');
    expect(JSON.parse(record ?? '[]')).toEqual([WATCHED]);

    const publisher = await connectModernClient(() => nodes[1]!.url);
    const publish = (uri: string) =>
      publisher.client.callTool({ name: 'notify_change', arguments: { kind: 'resource_updated', uri } });
    // The GET stream opens in the background after initialize; publish until it has heard.
    await waitFor(
      'the update to reach the GET stream on A',
      async () => {
        await publish(OTHER);
        await publish(WATCHED);
        await new Promise((resolve) => setTimeout(resolve, 200));
        return updated.length > 0;
      },
      10_000,
    );
    expect(new Set(updated)).toEqual(new Set([WATCHED]));

    await legacy.client.unsubscribeResource({ uri: WATCHED });
    expect(await redis.client().hexists(`test:session:{${legacy.sessionId()}}`, 'subscriptions')).toBe(0);
    const before = updated.length;
    await publish(WATCHED);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(updated.length).toBe(before);
    await Promise.all([legacy.client.close(), publisher.client.close()]);
  });

  it('refuses a subscription to a resource outside the server with a JSON-RPC error, and records nothing', async () => {
    const legacy = await connectLegacyClient(() => nodes[0]!.url);
    await expect(legacy.client.subscribeResource({ uri: 'file:///etc/passwd' })).rejects.toThrow(
      /Resource not found/,
    );
    await legacy.client.close();
  });
});
