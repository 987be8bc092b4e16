import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../app/errors.js';
import { createLogger } from '../../app/logger.js';
import { createMetrics } from '../../app/metrics.js';
import { RedisNodeRelay } from '../../app/relay/redis-relay.js';
import { createRedisStreamOwners } from '../../app/relay/stream-owners.js';
import { newSessionId } from '../../app/sessions/session-id.js';
import { createCommandHealth } from '../../app/store/command-health.js';
import { createRedisEventStores } from '../../app/store/event-store-redis.js';
import { createKeys } from '../../app/store/keys.js';
import { createRedisLeases } from '../../app/store/leases-redis.js';
import { createRateLimiters } from '../../app/store/rate-limiters.js';
import { connectRedis, type RedisClient, waitUntilReady } from '../../app/store/redis-connection.js';
import { storeError } from '../../app/store/redis-errors.js';
import { createRedisStore, defineScripts } from '../../app/store/redis-store.js';
import { startTestRedisCluster, type TestRedisCluster } from '../helpers/redis-cluster.js';

const APP = fileURLToPath(new URL('../../app', import.meta.url));

/** Every Lua script of the app, wherever it lives under app/. */
function luaScripts(): { path: string; sha1: string }[] {
  return readdirSync(APP, { recursive: true, encoding: 'utf8' })
    .filter((path) => path.endsWith('.lua'))
    .map((path) => ({
      path,
      sha1: createHash('sha1')
        .update(readFileSync(join(APP, path)))
        .digest('hex'),
    }));
}

/**
 * On a Redis Cluster every script, MULTI and multi-key command must touch one hash slot, or Redis
 * refuses it with CROSSSLOT. A standalone Redis accepts anything, so only a real cluster catches a
 * script that breaks this: the stores run every script here, through the app's own cluster client.
 */
describe('one hash slot per script and per multi-key command (a real 3-shard Redis Cluster)', () => {
  let cluster: TestRedisCluster;
  let redis: RedisClient;
  const keys = createKeys('test:');
  const logger = createLogger({ level: 'silent', nodeId: 'slots' });
  /** The slot Redis itself computes for a key (CLUSTER KEYSLOT). */
  const slotOf = (key: string) => redis.cluster('KEYSLOT', key) as Promise<number>;
  const slotsOf = async (names: string[]) => new Set(await Promise.all(names.map(slotOf)));

  beforeAll(async () => {
    cluster = await startTestRedisCluster();
    redis = connectRedis({ url: cluster.url, cluster: true }, { logger, role: 'commands', nodeId: 'slots' });
    expect(await waitUntilReady(redis, 10_000)).toBe(true);
  });

  afterAll(async () => {
    redis?.disconnect();
    await cluster?.close();
  });

  it('refuses a script whose keys sit in two slots with CROSSSLOT: a bug, never retried as an outage', async () => {
    const [one, other] = [newSessionId(), newSessionId()];
    expect(await slotOf(keys.session(one))).not.toBe(await slotOf(keys.session(other)));
    const { crossSlot } = defineScripts(redis, { crossSlot: 'touch-session-2.lua' });
    const refused = await crossSlot?.(keys.session(one), keys.sessionMemory(other), 60, Date.now()).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(String(refused)).toContain('CROSSSLOT');
    const failure = storeError('test', refused);
    expect(failure).toBeInstanceOf(StoreUnavailableError);
    expect(failure.failure).toBe('rejected');
  });

  it('runs every Lua script of app/ on the cluster, with the keys the stores give it', async () => {
    const store = createRedisStore({
      redis,
      keys,
      sessionTtlSeconds: 60,
      memoryQuota: { maxKeys: 10, maxBytes: 10_000 },
      metrics: createMetrics({ nodeId: 'slots' }),
      health: createCommandHealth(),
      probeKey: keys.nodeProbe('slots'),
      logger,
    });
    const sessionId = newSessionId();
    const principal = 'key:0123456789abcdef';
    // Sessions: create, touch (session + its memory), update, subscribe, remember in the session, DEL of both.
    await store.sessions.create({
      id: sessionId,
      initializeParams: { protocolVersion: '2025-06-18' },
      protocolVersion: '2025-06-18',
      principal,
      subscriptions: [],
      createdAt: Date.now(),
    });
    await store.sessions.setLoggingLevel(sessionId, 'info');
    expect(await store.sessions.setSubscription(sessionId, 'test://a', true)).toBe(true);
    expect(await store.memory.remember({ kind: 'session', sessionId }, 'k', 'v')).toBe(true);
    expect(await store.memory.remember({ kind: 'principal', principal }, 'k', 'v')).toBe(true);
    expect(await store.sessions.touch(sessionId, principal)).toEqual({ principal, loggingLevel: 'info' });
    // A node about to restore the session gets the record with the check; a stranger does not.
    expect((await store.sessions.touch(sessionId, principal, { withRecord: true }))?.record).toMatchObject({
      id: sessionId,
      principal,
      initializeParams: { protocolVersion: '2025-06-18' },
      loggingLevel: 'info',
      subscriptions: ['test://a'],
    });
    expect(await store.sessions.touch(sessionId, 'key:stranger', { withRecord: true })).toEqual({
      principal,
      loggingLevel: 'info',
    });
    expect(await store.sessions.get(sessionId)).toMatchObject({
      protocolVersion: '2025-06-18',
      loggingLevel: 'info',
      subscriptions: ['test://a'],
    });
    expect(await store.memory.recall({ kind: 'session', sessionId }, 'k')).toBe('v');
    // Leases of a principal.
    const leases = createRedisLeases({ redis, keys });
    expect(await leases.claim('sessions', principal, sessionId, 60_000, 5)).toEqual({ held: true, count: 1 });
    await leases.refresh('sessions', principal, [sessionId], 60_000);
    // A resumable stream's event.
    const events = createRedisEventStores({
      redis,
      keys,
      limits: { maxEventsPerStream: 10, ttlSeconds: 60 },
    }).forSession(sessionId);
    const eventId = await events.storeEvent('_GET_stream', {
      jsonrpc: '2.0',
      method: 'notifications/tools/list_changed',
    });
    expect(eventId).toMatch(/^_GET_stream_\d+-\d+$/);
    // A 2024 stream's owner record.
    const owners = createRedisStreamOwners({ redis, keys, ttlSeconds: 60 });
    await owners.claim(sessionId, 'node-a.1');
    expect(await owners.refresh([sessionId], 'node-a.1')).toEqual([]);
    await owners.release(sessionId, 'node-a.1');
    // Shared rate limits (rate-limiter-flexible's own script).
    const limiters = createRateLimiters({
      config: { windowSeconds: 60, perIp: 5, perPrincipal: 5 },
      redis,
      keys,
    });
    await limiters.perIp?.consume('127.0.0.1');
    expect(await store.sessions.remove(sessionId)).toBe(true);
    expect(await store.sessions.touch(sessionId)).toBeNull();
    await store.close();
    // A relayed message, through the target's inbox and doorbell (one script on the target's shard).
    const subscribers = ['relay-a', 'relay-b'].map((nodeId) =>
      connectRedis(
        { url: cluster.url, cluster: true },
        { logger, role: 'subscriber', nodeId, subscriber: true },
      ),
    );
    const [relayA, relayB] = subscribers.map(
      (subscriber, i) =>
        new RedisNodeRelay({ publisher: redis, subscriber, keys, nodeId: `relay-${i}`, logger }),
    ) as [RedisNodeRelay, RedisNodeRelay];
    const received: unknown[] = [];
    relayB.onEnvelope('session-responses', async (envelope) => {
      received.push(envelope);
      return 'delivered';
    });
    await Promise.all([relayA.start(), relayB.start()]);
    const envelope = {
      kind: 'session-responses' as const,
      sessionId,
      messages: [{ jsonrpc: '2.0' as const, id: 1, result: {} }],
    };
    expect(await relayA.send(relayB.address, envelope)).toBe('delivered');
    expect(received).toEqual([envelope]);
    await Promise.all([relayA.close(), relayB.close()]);
    for (const subscriber of subscribers) subscriber.disconnect();

    // Each script ran on the shard that owns its keys, which caches it: a script no store ran
    // (added without a caller here) shows up as missing.
    const primaries = (redis as Cluster).nodes('master');
    expect(primaries).toHaveLength(3);
    const cached = async (sha1: string) =>
      (await Promise.all(primaries.map((node) => node.script('EXISTS', sha1) as Promise<number[]>))).some(
        ([exists]) => exists === 1,
      );
    const scripts = luaScripts();
    expect(scripts.length).toBeGreaterThan(0);
    for (const script of scripts) expect(await cached(script.sha1), script.path).toBe(true);
  });

  it('gives the keys of one session, one principal and one node process one slot each', async () => {
    const sessionId = newSessionId();
    const sessionKeys = [
      keys.session(sessionId),
      keys.sessionMemory(sessionId),
      keys.sessionEvents(sessionId),
      keys.sseStreamOwner(sessionId),
    ];
    expect((await slotsOf(sessionKeys)).size).toBe(1);
    const principal = 'oauth:https://issuer.example#user-1';
    const principalKeys = [
      keys.principalMemory(principal),
      keys.principalLeases(principal, 'sessions'),
      keys.principalLeases(principal, 'streams'),
    ];
    expect((await slotsOf(principalKeys)).size).toBe(1);
    const address = 'node-a.0123abcd';
    const nodeKeys = [
      keys.relayChannel(address),
      keys.relayInbox(address),
      keys.liveNode(address),
      keys.nodeProbe(address),
    ];
    expect((await slotsOf(nodeKeys)).size).toBe(1);
  });
});
