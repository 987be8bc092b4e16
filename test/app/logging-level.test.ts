import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppNode, clusterEnv, startAppNode } from '../helpers/app-node.js';
import { connectLegacyClient } from '../helpers/clients.js';
import { type SharedRedis, startSharedRedis } from '../helpers/shared-redis.js';

/**
 * Review §1 finding 12: a 2025-era client's `logging/setLevel` holds on every node, not only on the
 * node that took it: the level lives in the session record, and every node applies the record's.
 */
describe('the logging level of a 2025 session holds on every node (real Redis, two real nodes)', () => {
  let redis: SharedRedis;
  let nodes: AppNode[];

  beforeAll(async () => {
    redis = await startSharedRedis();
    nodes = await Promise.all(
      ['log-a', 'log-b'].map((nodeId) =>
        startAppNode({ nodeId, env: clusterEnv(redis, { MCP_CONFORMANCE_FIXTURES: 'true' }) }),
      ),
    );
  });

  afterAll(async () => {
    await Promise.all((nodes ?? []).map((n) => n.stop()));
    await redis?.close();
  });

  it('a level set on A filters on B, and a level set later on B filters on A', async () => {
    let target = nodes[0]!.url;
    const { client } = await connectLegacyClient(() => target, 'log-level');
    const received: string[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      received.push(n.params.level);
    });
    // The fixture tool logs three messages at `info`.
    const logsSeen = async () => {
      const before = received.length;
      await client.callTool({ name: 'test_tool_with_logging', arguments: {} });
      return received.length - before;
    };
    expect(await logsSeen()).toBe(3); // no level set: everything

    await client.setLoggingLevel('error');
    expect(await logsSeen()).toBe(0);
    target = nodes[1]!.url; // B restores the session from the record
    expect(await logsSeen()).toBe(0);

    await client.setLoggingLevel('debug');
    expect(await logsSeen()).toBe(3);
    target = nodes[0]!.url; // A still holds its instance, warm, with the level it was told first
    expect(await logsSeen()).toBe(3);
    await client.close();
  });
});
