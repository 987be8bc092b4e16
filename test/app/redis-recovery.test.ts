import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { type AppNode, clusterEnv, safeJson, startAppNode } from '../helpers/app-node.js';
import { connectLegacyClient, connectModernClient, structuredOf, textOf } from '../helpers/clients.js';
import { waitFor } from '../helpers/ports.js';
import { postInitialize } from '../helpers/raw-streamable.js';
import { startTestRedis, type TestRedis } from '../helpers/redis-server.js';

/**
 * What a node does with Redis errors other than a plain outage (test/app/faults.test.ts) and a
 * failover (test/e2e/redis-failover.test.ts): starting while Redis is down, a Redis that holds
 * writes, and a Redis that rejects a command.
 */
describe('redis: starting during an outage, held writes, rejected commands', () => {
  const stops: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  });

  async function redisServer(): Promise<TestRedis> {
    const redis = await startTestRedis();
    stops.push(() => redis.close());
    return redis;
  }

  async function node(
    nodeId: string,
    redis: TestRedis,
    env: Record<string, string> = {},
    awaitReady = true,
  ): Promise<AppNode> {
    const started = await startAppNode({ nodeId, env: clusterEnv(redis.url, env), awaitReady });
    stops.push(() => started.stop());
    return started;
  }

  const readyStatus = async (n: AppNode) => (await fetch(new URL('/ready', n.url))).status;

  it('a node started during an outage subscribes once Redis is back, and is not ready before', async () => {
    const redis = await redisServer();
    await redis.stop();
    const late = await node('late', redis, {}, false);
    expect(await readyStatus(late)).toBe(503);
    // Long enough for ioredis to have given up on the SUBSCRIBE it queued at start.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await (await fetch(new URL('/ready', late.url))).json()).toMatchObject({ ready: false });

    // The outage shows in readiness and in the connections' own errors; the relay's inbox drain, every
    // second, retries quietly instead of adding a warning a second.
    const warnings = late.logs
      .map((l) => safeJson(l))
      .filter((l) => l?.level === 'warn' || l?.level === 'error')
      .map((l) => l?.msg);
    expect(warnings).toContain('redis is unreachable at start; serving 503 until it is back');
    expect(warnings).not.toContain('could not drain the node relay inbox');

    await redis.start();
    await waitFor('the late node to be ready', async () => (await readyStatus(late)) === 200, 20_000);
    // Ready means listening: Redis lists the late node on its relay channel, and its event log
    // reader among its clients.
    const admin = redis.client();
    expect(await admin.pubsub('SHARDCHANNELS', 'test:relay:{late.*')).toHaveLength(1);
    expect(String(await admin.call('CLIENT', 'LIST'))).toContain('name=mcp-fleet:late:event-log');

    // And it hears its peers: a change published on another node reaches a listener on the late one…
    const peer = await node('peer', redis);
    const listener = await connectModernClient(() => late.url);
    const heard: string[] = [];
    listener.client.setNotificationHandler('notifications/tools/list_changed', (n) => {
      heard.push(n.method);
    });
    const subscription = await listener.client.listen({ toolsListChanged: true });
    const publisher = await connectModernClient(() => peer.url);
    await waitFor(
      'the listener on the late node to be told',
      async () => {
        await publisher.client.callTool({ name: 'notify_change', arguments: { kind: 'tools_list_changed' } });
        await new Promise((resolve) => setTimeout(resolve, 200));
        return heard.length > 0;
      },
      10_000,
    );
    await subscription.close();

    // …and an elicitation answer that lands on the peer is relayed to the late node, which asked.
    let target = late.url;
    const asker = await connectLegacyClient(() => target, 'elicitation', {
      capabilities: { elicitation: {} },
    });
    asker.client.setRequestHandler(ElicitRequestSchema, async () => {
      target = peer.url;
      return { action: 'accept', content: { confirm: true } };
    });
    const result = structuredOf(
      await asker.client.callTool({ name: 'confirm', arguments: { action: 'ship it' } }, undefined, {
        timeout: 15_000,
      }),
    );
    expect(result).toMatchObject({ confirmed: true, askedOn: 'late' });
    await Promise.all([listener.client.close(), publisher.client.close(), asker.client.close()]);
  });

  it('a starting node is ready once its event log reader has answered, without calling it silent first', async () => {
    const redis = await redisServer();
    const fresh = await node('fresh', redis, {}, false);
    const reasons: string[] = [];
    await waitFor(
      'the fresh node to be ready',
      async () => {
        const response = await fetch(new URL('/ready', fresh.url));
        const body = (await response.json()) as { reason?: string };
        if (body.reason) reasons.push(body.reason);
        return response.status === 200;
      },
      10_000,
      10,
    );
    // Before: 'event log reader: no answer for 1796155390 s' (seconds since 1970) for a whole
    // blocking read, about a second of every start.
    expect(reasons.filter((reason) => /no answer/.test(reason))).toEqual([]);
  });

  it('a Redis that holds writes (paused, as in a planned failover): initialize answers 503, not 400, and leaves no session', async () => {
    const redis = await redisServer();
    // Without the rate limiter, whose own write would wait out the pause first.
    const a = await node('paused', redis, { RATE_LIMIT_PER_IP: '0', RATE_LIMIT_PER_PRINCIPAL: '0' });
    const existing = await connectLegacyClient(() => a.url);
    const before = await activeSessions(a);
    const admin = redis.client();
    await admin.call('CLIENT', 'PAUSE', '10000', 'WRITE');

    // The session record's write waits out the command timeout. The SDK used to answer that
    // failure as 400 "Parse error" carrying Redis's text, and keep the session Redis never stored.
    const refused = await postInitialize(a.url, { clientName: 'x' });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('2');
    expect(refused.headers.get('mcp-session-id')).toBeNull();
    expect(await refused.json()).toMatchObject({
      jsonrpc: '2.0',
      error: { code: -32603, data: { reason: 'store_unavailable' } },
      id: null,
    });
    // It was the write that failed (not the fast path that refuses while Redis is known down).
    expect(
      await metric(a, 'mcp_redis_command_duration_seconds_count', [
        'operation="session.create"',
        'outcome="error"',
      ]),
    ).toBe(1);
    expect(await activeSessions(a)).toBe(before);
    expect(a.logs.filter((l) => safeJson(l)?.msg === 'session created')).toHaveLength(1);

    await admin.call('CLIENT', 'UNPAUSE');
    await waitFor(
      'initialize to work again',
      async () => (await postInitialize(a.url, { clientName: 'x' })).status === 200,
    );
    expect(textOf(await existing.client.callTool({ name: 'echo', arguments: { text: 'back' } }))).toBe(
      'back',
    );
    await existing.client.close();
  });

  it('a rejected command (wrong key type) fails the call, and the error log carries no command arguments', async () => {
    const redis = await redisServer();
    const a = await node('rejected', redis);
    const { client, sessionId } = await connectLegacyClient(() => a.url);
    // The session's memory hash is now a string: the remember script's HSET gets WRONGTYPE.
    await redis.client().set(`test:session:{${sessionId()}}:memory`, 'not a hash');
    const secret = 'value-that-must-never-reach-a-log';

    const result = await client.callTool({ name: 'remember', arguments: { key: 'k', value: secret } });
    expect(result.isError).toBe(true);
    const line = await waitFor('the error line', () =>
      a.logs.map((l) => safeJson(l)).find((l) => l?.msg === 'redis rejected a command'),
    );
    expect(line).toMatchObject({ level: 'error', operation: 'memory.remember' });
    const err = line.err as Record<string, unknown>;
    expect(err.message).toMatch(/^WRONGTYPE/);
    // ioredis puts the command on the error, `{ name, args }`: the args are the key and the value.
    expect(err).not.toHaveProperty('command');
    expect(a.logs.filter((l) => l.includes(secret))).toEqual([]);
    await client.close();
  });
});

async function activeSessions(n: AppNode): Promise<number> {
  return ((await (await fetch(new URL('/health', n.url))).json()) as { activeSessions: number })
    .activeSessions;
}

/** The value of the node's /metrics series `name` whose labels include all of `labels`; 0 when absent. */
async function metric(n: AppNode, name: string, labels: string[]): Promise<number> {
  const text = await (await fetch(new URL('/metrics', n.url))).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}{`) && labels.every((label) => l.includes(label)));
  return line ? Number(line.split(' ').at(-1)) : 0;
}
