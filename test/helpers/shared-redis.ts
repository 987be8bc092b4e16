import type { Cluster, Redis } from 'ioredis';
import { startTestRedisCluster } from './redis-cluster.js';
import { startTestRedis } from './redis-server.js';

/**
 * The Redis a test's nodes share: a standalone server or a 3-shard cluster, chosen by
 * `TEST_REDIS` (`standalone`, the default, or `cluster`), so that one suite runs against both:
 * `TEST_REDIS=cluster npx vitest run test/e2e`.
 */
export interface SharedRedis {
  kind: RedisKind;
  url: string;
  /** What every node needs to reach it: REDIS_URL, and REDIS_CLUSTER for a cluster. */
  env: Record<string, string>;
  /** The running redis-servers' pids (one standalone, one per shard; none while stopped). */
  readonly pids: number[];
  /** A plain client (a cluster client for a cluster) for assertions on what the app stored. */
  client(): Redis | Cluster;
  /** Kills every redis-server (SIGKILL); `start` brings them back on the same ports. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export type RedisKind = 'standalone' | 'cluster';

export function testRedisKind(): RedisKind {
  const kind = process.env.TEST_REDIS ?? 'standalone';
  if (kind !== 'standalone' && kind !== 'cluster') {
    throw new Error(`TEST_REDIS: expected standalone or cluster, got ${JSON.stringify(kind)}`);
  }
  return kind;
}

/**
 * Starts the shared Redis of the kind asked (by default the one TEST_REDIS names); `durable` keeps
 * the data across `stop()`/`start()`, on every shard of a cluster.
 */
export async function startSharedRedis(
  options: { kind?: RedisKind; durable?: boolean } = {},
): Promise<SharedRedis> {
  const kind = options.kind ?? testRedisKind();
  if (kind === 'cluster') {
    const cluster = await startTestRedisCluster({ durable: options.durable });
    return {
      kind,
      ...common(cluster),
      env: { REDIS_URL: cluster.url, REDIS_CLUSTER: 'true' },
      get pids() {
        return cluster.pids;
      },
    };
  }
  const redis = await startTestRedis({ durable: options.durable });
  return {
    kind,
    ...common(redis),
    env: { REDIS_URL: redis.url },
    get pids() {
      return redis.pid === undefined ? [] : [redis.pid];
    },
  };
}

function common(
  redis: Omit<SharedRedis, 'kind' | 'env' | 'pids'>,
): Omit<SharedRedis, 'kind' | 'env' | 'pids'> {
  return {
    url: redis.url,
    client: () => redis.client(),
    stop: () => redis.stop(),
    start: () => redis.start(),
    close: () => redis.close(),
  };
}
