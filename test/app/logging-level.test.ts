import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppNode, startNodesOnSharedRedis } from '../helpers/app-node.js';
import { connectLegacyClient } from '../helpers/clients.js';

/**
 * Review §1 finding 12: a 2025-era client's `logging/setLevel` holds on every node, not only on the
 * node that took it: the level lives in the session record, and every node applies the record's.
 */
describe('the logging level of a 2025 session holds on every node (real Redis, two real nodes)', () => {
  let nodes: AppNode[];
  let stop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ nodes, stop } = await startNodesOnSharedRedis(['log-a', 'log-b'], {
      MCP_CONFORMANCE_FIXTURES: 'true',
    }));
  });

  afterAll(() => stop?.());

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
