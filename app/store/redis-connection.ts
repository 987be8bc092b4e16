import { Redis, type RedisOptions } from 'ioredis';
import { type Logger, redactUrlCredentials } from '../logger.js';

/**
 * One Redis connection with the settings every node needs:
 * - no offline queue: while Redis is down, commands fail at once, so a request gets a fast 503
 *   instead of hanging until a timeout;
 * - a command timeout, for a half-open connection that never answers;
 * - reconnects forever with capped exponential backoff and jitter, so service resumes by itself.
 * `rediss://` URLs get TLS (ElastiCache in-transit encryption) from ioredis itself.
 */
export function connectRedis(
  url: string,
  options: { logger: Logger; role: string; nodeId: string; offlineQueue?: boolean },
): Redis {
  const settings: RedisOptions = {
    connectionName: `mcp-fleet:${options.nodeId}:${options.role}`,
    enableOfflineQueue: options.offlineQueue ?? false,
    maxRetriesPerRequest: 1,
    commandTimeout: 2_000,
    connectTimeout: 5_000,
    lazyConnect: true,
    retryStrategy: (attempt) =>
      Math.min(50 * 2 ** Math.min(attempt, 6), 2_000) + Math.floor(Math.random() * 100),
  };
  const redis = new Redis(url, settings);
  const log = options.logger.child({ component: 'redis', role: options.role });
  let wasReady = false;
  redis.on('ready', () => {
    log.info({ url: redactUrlCredentials(url) }, wasReady ? 'redis reconnected' : 'redis connected');
    wasReady = true;
  });
  redis.on('error', (err: Error) => log.warn({ err: err.message }, 'redis connection error'));
  redis.on('close', () => {
    if (wasReady) log.warn('redis connection closed; reconnecting');
  });
  return redis;
}

/** Waits for the first `ready`, or gives up after `timeoutMs` (the node then starts not-ready). */
export async function waitUntilReady(redis: Redis, timeoutMs: number): Promise<boolean> {
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
