import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { type Logger, redactUrlCredentials } from '../logger.js';
import { isFailoverReply } from './redis-errors.js';

/** A connection to a standalone Redis or to a Redis Cluster: the stores use only what both offer. */
export type RedisClient = Redis | Cluster;

/** REDIS_URL, and whether it names a standalone primary or a seed node of a cluster (REDIS_CLUSTER). */
export interface RedisTarget {
  url: string;
  cluster: boolean;
}

/**
 * One Redis connection with the settings every node needs: to a standalone primary, or to a Redis
 * Cluster (REDIS_CLUSTER) through one seed node. Every connection is made here.
 * - No offline queue: while Redis is down, commands fail at once, so a request gets a fast 503
 *   instead of hanging until a timeout.
 * - A command timeout, so that no request waits on Redis for more than 2 s.
 * - A socket timeout: a socket left half-open (its primary replaced, a NAT entry dropped) answers
 *   nothing and never closes. TCP keepalive cannot tell (a live middlebox answers the probes, and
 *   by OS defaults they take minutes), so without this every command on it would time out one by
 *   one for as long as it stays. ioredis destroys a socket that gets no data within 5 s of a write,
 *   and reconnects; the keepalive stays as the idle backstop.
 * - Reconnect on `READONLY`, `LOADING` and `MASTERDOWN` (ElastiCache's failover: the endpoint moves
 *   to the promoted replica, and connections still open to the old primary answer `READONLY`
 *   forever). The command that got it fails (503 with Retry-After, the client retries) rather than
 *   being resent: until DNS moves, the endpoint may still name the old primary.
 * - Reconnects forever with capped exponential backoff and jitter, so service resumes by itself.
 * - No auto-pipelining. A request's session check and its per-principal rate limit are issued
 *   together and awaited together, so they cost one round trip in series while each script still
 *   touches a single hash slot (Redis Cluster). ioredis's auto-pipelining would batch them into one
 *   write, but it runs one batch at a time per connection: a batch waits for the replies of the one
 *   before (an event append that nobody awaits, another request's check), which measured 2.3 round
 *   trips in series per 2025-era call against 1.5 without it (bench (b), replies delayed 20 ms).
 * `rediss://` URLs get TLS (ElastiCache in-transit encryption) from ioredis itself.
 */
export function connectRedis(
  target: RedisTarget,
  options: {
    logger: Logger;
    role: string;
    nodeId: string;
    /**
     * The subscriber connection: its SSUBSCRIBEs queue until connected (it runs nothing else), and
     * on a cluster they go to one connection per shard.
     */
    subscriber?: boolean;
  },
): RedisClient {
  const log = options.logger.child({ component: 'redis', role: options.role });
  let failoverAnnounced = false;
  const retryStrategy = (attempt: number) =>
    Math.min(50 * 2 ** Math.min(attempt, 6), 2_000) + Math.floor(Math.random() * 100);
  const settings: RedisOptions = {
    connectionName: `mcp-fleet:${options.nodeId}:${options.role}`,
    enableOfflineQueue: options.subscriber ?? false,
    maxRetriesPerRequest: 1,
    commandTimeout: 2_000,
    socketTimeout: 5_000,
    keepAlive: 10_000,
    connectTimeout: 5_000,
    lazyConnect: true,
    retryStrategy,
    reconnectOnError: (err) => {
      if (!isFailoverReply(err)) return false;
      // Every command in flight gets the same reply: say it once per connection.
      if (!failoverAnnounced) log.warn({ reply: err.message.split(' ')[0] }, 'redis failover: reconnecting');
      failoverAnnounced = true;
      return 1;
    },
  };
  const redis = target.cluster
    ? connectCluster(target.url, settings, options.subscriber ?? false)
    : new Redis(target.url, settings);
  let wasReady = false;
  redis.on('ready', () => {
    failoverAnnounced = false;
    log.info(
      { url: redactUrlCredentials(target.url), cluster: target.cluster },
      wasReady ? 'redis reconnected' : 'redis connected',
    );
    wasReady = true;
  });
  redis.on('error', (err: Error) => log.warn({ err: err.message }, 'redis connection error'));
  redis.on('close', () => {
    if (wasReady) log.warn('redis connection closed; reconnecting');
  });
  return redis;
}

/**
 * A Redis Cluster client seeded by one node (ElastiCache's configuration endpoint): it reads the
 * shards from CLUSTER SLOTS, follows MOVED and ASK, and waits out TRYAGAIN and CLUSTERDOWN itself.
 * - Every shard connection gets the standalone settings, and the TLS and AUTH of the seed's URL.
 * - `dnsLookup` keeps the names the cluster announces: ElastiCache's certificates name its hosts,
 *   and resolving them to IPs first fails the TLS hostname check (the ioredis README's note on
 *   ElastiCache with TLS).
 * - The subscriber's SSUBSCRIBEs go to the primary of each channel's shard, on one connection per
 *   shard, and follow the slots when they move.
 */
function connectCluster(url: string, settings: RedisOptions, shardedSubscribers: boolean): Cluster {
  const seed = new URL(url);
  const { enableOfflineQueue, retryStrategy, lazyConnect, ...perShard } = settings;
  return new Cluster([{ host: seed.hostname, port: Number(seed.port || 6379) }], {
    redisOptions: {
      ...perShard,
      ...(seed.username ? { username: decodeURIComponent(seed.username) } : {}),
      ...(seed.password ? { password: decodeURIComponent(seed.password) } : {}),
      ...(seed.protocol === 'rediss:' ? { tls: {} } : {}),
    },
    dnsLookup: (address, callback) => callback(null, address),
    enableOfflineQueue,
    lazyConnect,
    clusterRetryStrategy: (attempt) => retryStrategy?.(attempt) ?? null,
    slotsRefreshTimeout: 2_000,
    shardedSubscribers,
  });
}

/** Waits for the first `ready`, or gives up after `timeoutMs` (the node then starts not-ready). */
export async function waitUntilReady(redis: RedisClient, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return true;
  if (redis.status === 'wait') redis.connect().catch(() => undefined);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      resolve(ok);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    redis.on('ready', onReady);
  });
}
