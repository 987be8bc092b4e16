import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../app/logger.js';
import { RedisNodeRelay } from '../../app/relay/redis-relay.js';
import { createKeys } from '../../app/store/keys.js';
import { connectRedis, type RedisClient, waitUntilReady } from '../../app/store/redis-connection.js';
import { startTestRedis, type TestRedis } from '../helpers/redis-server.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

/**
 * Review §1 finding 9: pub/sub is at most once, so a relayed message published while its target's
 * subscriber was away (reconnecting, or still on a demoted primary after a failover) was lost, and
 * the sender answered 503. The message now waits in the target's inbox: a missed doorbell delays
 * it until the target's next drain, at most a second later.
 */
describe('the node relay delivers through an inbox (real Redis)', () => {
  let redis: TestRedis;
  const clients: RedisClient[] = [];
  const relays: RedisNodeRelay[] = [];
  const keys = createKeys('test:inbox:');
  const logger = createLogger({ level: 'silent', nodeId: 'inbox' });

  const connect = (role: string, subscriber = false) => {
    const client = connectRedis(
      { url: redis.url, cluster: false },
      { logger, role, nodeId: 'inbox', subscriber },
    );
    clients.push(client);
    return client;
  };
  const startRelay = async (nodeId: string) => {
    const subscriber = connect('subscriber', true);
    const relay = new RedisNodeRelay({ publisher: connect('commands'), subscriber, keys, nodeId, logger });
    relays.push(relay);
    await relay.start();
    return { relay, subscriber };
  };

  beforeAll(async () => {
    redis = await startTestRedis();
  });

  afterAll(async () => {
    await Promise.all(relays.map((relay) => relay.close()));
    for (const client of clients) client.disconnect();
    await redis?.close();
  });

  it('a message whose doorbell nobody heard still arrives, once', async () => {
    const { relay: sender } = await startRelay('sender');
    const { relay: target, subscriber } = await startRelay('target');
    expect(await waitUntilReady(subscriber, 5_000)).toBe(true);
    const taken: unknown[] = [];
    target.onEnvelope('sse-messages', async (envelope) => {
      taken.push(envelope);
      return 'delivered';
    });
    // The target stops hearing its channel, as during a reconnect: its doorbell rings for nobody.
    await subscriber.sunsubscribe(keys.relayChannel(target.address));
    const envelope = {
      kind: 'sse-messages' as const,
      sessionId: 's-1',
      messages: [{ jsonrpc: '2.0' as const, id: 1, method: 'ping' }],
    };
    const outcome = sender.send(target.address, envelope);
    // Taken by the target's next drain; its ack reaches the sender, which still listens.
    await expect.poll(() => taken, { timeout: 2_500, interval: 50 }).toEqual([envelope]);
    expect(await outcome).toBe('delivered');
    // Taken once: nothing is left in the inbox, and another drain takes nothing more.
    expect(await redis.client().llen(keys.relayInbox(target.address))).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(taken).toHaveLength(1);
  });

  it('refuses to relay into a full inbox, at once and storing nothing', async () => {
    const { relay: sender } = await startRelay('sender-full');
    // A process that is alive (in the registry) but has stopped taking its messages.
    const stuck = 'stuck.00000000';
    const admin = redis.client();
    await admin.set(keys.liveNode(stuck), '1', 'PX', 30_000);
    const inbox = keys.relayInbox(stuck);
    for (let i = 0; i < 10; i++) await admin.rpush(inbox, ...Array.from({ length: 1_000 }, () => '{}'));
    const startedAt = Date.now();
    const outcome = await sender.send(stuck, {
      kind: 'sse-messages',
      sessionId: 's-full',
      messages: [{ jsonrpc: '2.0', id: 1, method: 'ping' }],
    });
    // The caller answers 503 with Retry-After (relay_timeout), without waiting out the ack timeout.
    expect(outcome).toBe('timeout');
    expect(Date.now() - startedAt).toBeLessThan(2_000);
    expect(await admin.llen(inbox)).toBe(10_000);
  });
  it('a relay that has started is reachable at once, even when its commands are slow to land', async () => {
    // The target's commands (its registry entry among them) reach Redis 300 ms late; its
    // subscription does not go through the proxy, so it is answered at once.
    const proxy: TcpProxy = await startTcpProxy(redis.port, {
      intercept: (_chunk, forward) => setTimeout(forward, 300),
    });
    try {
      const { relay: sender } = await startRelay('early-sender');
      const publisher = connectRedis(
        { url: proxy.url, cluster: false },
        { logger, role: 'commands', nodeId: 'early', subscriber: false },
      );
      clients.push(publisher);
      expect(await waitUntilReady(publisher, 5_000)).toBe(true);
      const target = new RedisNodeRelay({
        publisher,
        subscriber: connect('subscriber', true),
        keys,
        nodeId: 'early',
        logger,
      });
      relays.push(target);
      target.onEnvelope('sse-messages', async () => 'delivered');
      await target.start();
      // A peer relays to it as soon as it serves: it must not be taken for dead.
      const envelope = {
        kind: 'sse-messages' as const,
        sessionId: 's-early',
        messages: [{ jsonrpc: '2.0' as const, id: 1, method: 'ping' }],
      };
      expect(await sender.send(target.address, envelope)).toBe('delivered');
    } finally {
      await proxy.close();
    }
  });
});
