import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppNode, clusterEnv, startAppNode } from '../helpers/app-node.js';
import {
  connectLegacyClient,
  connectModernClient,
  connectSseClient,
  structuredOf,
  textOf,
} from '../helpers/clients.js';
import { waitFor } from '../helpers/ports.js';
import { headers, initialize, readEvents } from '../helpers/raw-streamable.js';
import { startTestRedisCluster, type TestRedisCluster } from '../helpers/redis-cluster.js';
import { type SharedRedis, startSharedRedis } from '../helpers/shared-redis.js';
import { type ThrowawayCertificates, throwawayCertificates } from '../helpers/tls.js';

interface NodeInfo {
  nodeId: string;
  sessionId?: string;
}

/**
 * The flows that cross nodes, on a real 3-shard Redis Cluster (REDIS_CLUSTER=true, REDIS_URL one
 * seed node), in every run of the suite. The whole suite runs on a cluster with TEST_REDIS=cluster.
 */
describe('three nodes on a 3-shard Redis Cluster: sessions, resumption, notifications and relays cross nodes', () => {
  let redis: SharedRedis;
  let nodes: AppNode[];
  const url = (i: number) => nodes[i]!.url;

  beforeAll(async () => {
    redis = await startSharedRedis({ kind: 'cluster' });
    nodes = await Promise.all(
      ['rc-a', 'rc-b', 'rc-c'].map((nodeId) => startAppNode({ nodeId, env: clusterEnv(redis) })),
    );
    await Promise.all(
      nodes.map((node) =>
        waitFor(`${node.nodeId} to be ready`, async () => (await fetch(`${node.url}/ready`)).ok),
      ),
    );
  });

  afterAll(async () => {
    await Promise.all((nodes ?? []).map((n) => n.stop()));
    await redis?.close();
  });

  it('2025 era: a session made on A is restored on B and C, keeps its memory, and ends everywhere on DELETE', async () => {
    let target = url(0);
    const { client, transport } = await connectLegacyClient(() => target);
    await client.callTool({ name: 'remember', arguments: { key: 'city', value: 'Lyon' } });
    target = url(1);
    const onB = structuredOf<NodeInfo>(await client.callTool({ name: 'node_info', arguments: {} }));
    expect(onB.nodeId).toBe('rc-b');
    target = url(2);
    expect(structuredOf(await client.callTool({ name: 'recall', arguments: { key: 'city' } }))).toMatchObject(
      {
        value: 'Lyon',
      },
    );
    const sessionId = transport.sessionId!;
    await transport.terminateSession();
    const after = await fetch(new URL('/mcp', url(0)), {
      method: 'POST',
      headers: headers(sessionId),
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }),
    });
    expect(after.status).toBe(404);
  });

  it('a change published on C reaches a GET stream on A, and B replays what A missed after Last-Event-ID', async () => {
    const sessionId = await initialize(url(0));
    const controller = new AbortController();
    const listening = await fetch(new URL('/mcp', url(0)), {
      headers: headers(sessionId),
      signal: controller.signal,
    });
    expect(listening.status).toBe(200);
    const events = readEvents(listening);
    const publisher = await connectModernClient(() => url(2));
    const publish = () =>
      publisher.client.callTool({ name: 'notify_change', arguments: { kind: 'tools_list_changed' } });

    expect((await events.next()).data).toBe(''); // the priming event
    await publish();
    const seen = await events.next();
    expect(JSON.parse(seen.data)).toMatchObject({ method: 'notifications/tools/list_changed' });
    await publish();
    const missed = await events.next();
    controller.abort();
    await publisher.client.close();

    const resuming = new AbortController();
    const resumed = await fetch(new URL('/mcp', url(1)), {
      headers: { ...headers(sessionId), 'last-event-id': seen.id! },
      signal: resuming.signal,
    });
    expect(resumed.status).toBe(200);
    const replaying = readEvents(resumed);
    expect(await replaying.next()).toMatchObject({ id: seen.id, data: '' }); // the priming event
    const replayed = await replaying.next();
    expect(replayed.id).toBe(missed.id);
    expect(JSON.parse(replayed.data)).toMatchObject({ method: 'notifications/tools/list_changed' });
    resuming.abort();
  });

  it('every node reads the event log on the one shard that owns it, on a connection of its own', async () => {
    const readers = await eventLogReaders(redis.client() as Cluster);
    // Only the shard owning the log's slot has readers blocked in XREAD: every node, once.
    expect(readers.filter((names) => names.length > 0).map((names) => names.sort())).toEqual([
      nodes.map((node) => `mcp-fleet:${node.nodeId}:event-log`).sort(),
    ]);
  });

  it("misses none of the peers' changes published while its event log connection is down", async () => {
    const listener = await connectModernClient(() => url(0));
    let heard = 0;
    listener.client.setNotificationHandler('notifications/tools/list_changed', () => {
      heard++;
    });
    const subscription = await listener.client.listen({ toolsListChanged: true });
    const publisher = await connectModernClient(() => url(1));
    const publish = () =>
      publisher.client.callTool({ name: 'notify_change', arguments: { kind: 'tools_list_changed' } });
    await publish();
    await waitFor('the listener on A to hear B', () => heard === 1);
    // Cut A's reader, and publish while it reconnects: pub/sub would drop these for good.
    const admin = redis.client() as Cluster;
    await admin.ping(); // connects, and so learns the shards
    const killed = await Promise.all(
      admin.nodes('master').map(async (primary) => {
        const ids = parseClientList(String(await primary.call('CLIENT', 'LIST')))
          .filter(
            (client) => client.name === `mcp-fleet:${nodes[0]!.nodeId}:event-log` && client.cmd === 'xread',
          )
          .map((client) => client.id);
        for (const id of ids) await primary.call('CLIENT', 'KILL', 'ID', id);
        return ids.length;
      }),
    );
    expect(
      killed.reduce((sum, n) => sum + n, 0),
      'the reader connections of A killed',
    ).toBe(1);
    for (let i = 0; i < 5; i++) await publish();
    await waitFor('A to hear all five', () => heard >= 6);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(heard).toBe(6);
    await waitFor('A to be ready', async () => (await fetch(`${url(0)}/ready`)).ok);
    await subscription.close();
    await Promise.all([listener.client.close(), publisher.client.close()]);
  });

  it('2024-11-05: POSTs landing on B are relayed to the stream on A; a killed owner answers 410 within seconds', async () => {
    let target = url(0);
    const { client } = await connectSseClient(() => target);
    target = url(1);
    const info = structuredOf<NodeInfo>(await client.callTool({ name: 'node_info', arguments: {} }));
    expect(info.nodeId).toBe('rc-a');
    await client.callTool({ name: 'remember', arguments: { key: 'k', value: 'relayed' } });
    expect(structuredOf(await client.callTool({ name: 'recall', arguments: { key: 'k' } }))).toMatchObject({
      value: 'relayed',
    });
    await client.close();

    // The owner dies without a word: the node registry, not a PUBLISH count, tells B it is gone.
    const victim = await startAppNode({ nodeId: 'rc-victim', env: clusterEnv(redis) });
    target = victim.url;
    const { client: orphan } = await connectSseClient(() => target);
    await orphan.callTool({ name: 'echo', arguments: { text: 'before' } });
    victim.kill('SIGKILL');
    await victim.exited;
    target = url(1);
    const startedAt = performance.now();
    await expect(orphan.callTool({ name: 'echo', arguments: { text: 'after' } })).rejects.toThrow(/410/);
    expect(performance.now() - startedAt).toBeLessThan(8_000);
  });

  it('2025 era: an elicitation answer that lands on B reaches the tool call waiting on A', async () => {
    let target = url(0);
    const { client } = await connectLegacyClient(() => target, 'elicitation-client', {
      capabilities: { elicitation: {} },
    });
    client.setRequestHandler(ElicitRequestSchema, async () => {
      target = url(1);
      return { action: 'accept', content: { confirm: true } };
    });
    const result = structuredOf(
      await client.callTool({ name: 'confirm', arguments: { action: 'ship it' } }, undefined, {
        timeout: 15_000,
      }),
    );
    expect(result).toMatchObject({ confirmed: true, askedOn: 'rc-a', answeredOn: 'rc-a' });
    await client.close();
  });

  it('2026-07-28: a call on any node, and the multi-round-trip retry verified on another', async () => {
    let target = url(2);
    const { client } = await connectModernClient(() => target, 'mrtr-client', {
      capabilities: { elicitation: { form: {} } },
    });
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'stateless' } }))).toBe(
      'stateless',
    );
    client.setRequestHandler('elicitation/create', async () => {
      target = url(0);
      return { action: 'accept', content: { confirm: true } };
    });
    const result = structuredOf(
      await client.callTool({ name: 'confirm', arguments: { action: 'rotate keys' } }),
    );
    expect(result).toMatchObject({
      confirmed: true,
      action: 'rotate keys',
      askedOn: 'rc-c',
      answeredOn: 'rc-a',
    });
    await client.close();
  });
});

describe('a TLS Redis Cluster with an AUTH token, as ElastiCache runs it in-transit encrypted', () => {
  let certificates: ThrowawayCertificates;
  let cluster: TestRedisCluster;
  let node: AppNode;

  beforeAll(async () => {
    certificates = throwawayCertificates();
    cluster = await startTestRedisCluster({ tls: certificates, password: 'an-auth-token-0123456789#&' });
    node = await startAppNode({
      nodeId: 'rc-tls',
      env: clusterEnv(
        { env: { REDIS_URL: cluster.url, REDIS_CLUSTER: 'true' } },
        { NODE_EXTRA_CA_CERTS: certificates.caFile },
      ),
    });
  });

  afterAll(async () => {
    await node?.stop();
    await cluster?.close();
    certificates?.remove();
  });

  it('takes TLS and the password from the rediss:// seed URL for every shard, and serves', async () => {
    expect(cluster.url).toMatch(/^rediss:\/\/:an-auth-token-0123456789%23%26@127\.0\.0\.1:\d+$/);
    await waitFor('the node to be ready', async () => (await fetch(`${node.url}/ready`)).ok);
    const { client, sessionId } = await connectLegacyClient(() => node.url);
    await client.callTool({ name: 'remember', arguments: { key: 'k', value: 'over TLS' } });
    expect(structuredOf(await client.callTool({ name: 'recall', arguments: { key: 'k' } }))).toMatchObject({
      value: 'over TLS',
    });
    // The record sits on the shard of its slot, which a cluster client with the same URL finds.
    expect(await cluster.client().hget(`test:session:{${sessionId()}}:memory`, 'k')).toBe('over TLS');
    await client.close();
  });
});

/**
 * The names of the event log readers blocked in XREAD on each primary of the cluster (a cluster
 * client connects to every shard; only the log's shard serves its reads).
 */
async function eventLogReaders(admin: Cluster): Promise<string[][]> {
  await admin.ping();
  return Promise.all(
    admin.nodes('master').map(async (primary) =>
      parseClientList(String(await primary.call('CLIENT', 'LIST')))
        .filter((client) => client.name.endsWith(':event-log') && client.cmd === 'xread')
        .map((client) => client.name),
    ),
  );
}

function parseClientList(list: string): { id: string; name: string; cmd: string }[] {
  return list
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const fields = Object.fromEntries(line.split(' ').map((pair) => pair.split('=') as [string, string]));
      return { id: fields.id ?? '', name: fields.name ?? '', cmd: fields.cmd ?? '' };
    });
}
