import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import type { RateLimitConfig } from '../config.js';
import type { Keys } from './keys.js';
import type { RedisClient } from './redis-connection.js';

export interface RateLimiters {
  /**
   * Per client IP and per node, before authentication: it bounds what an anonymous flood costs a
   * node, and costs no Redis round trip.
   */
  perIp: RateLimiterAbstract | undefined;
  /** Per principal, after authentication: one caller cannot starve the others. */
  perPrincipal: RateLimiterAbstract | undefined;
}

/**
 * The rate limiters of one node. The per-principal counters are shared by every node through
 * Redis (one atomic INCR-with-TTL script per request, from rate-limiter-flexible, on a key of its
 * own: one hash slot), so that limit means the same thing however many nodes the load balancer
 * spreads a caller over. The per-IP limit is counted in each node's memory: it guards the node
 * against floods before authentication, where a Redis round trip per request would be the very
 * cost it is meant to bound; RATE_LIMIT_PER_IP is therefore per node. In the embedded mode both
 * live in process memory.
 *
 * Redis down: the node's connection has no offline queue, so a command would fail at once;
 * `rejectIfRedisNotReady` skips even the attempt and hands the request to the insurance limiter,
 * a per-node in-memory limiter with the same limit. Limiting stays on (per node) during an
 * outage, and the request then meets the route's own answer (503 for /mcp while the store is down).
 */
export function createRateLimiters(options: {
  config: RateLimitConfig;
  redis?: RedisClient;
  keys: Keys;
}): RateLimiters {
  const { config, redis, keys } = options;
  const build = (scope: 'ip' | 'principal', points: number): RateLimiterAbstract | undefined => {
    if (points === 0) return undefined;
    const limits = { points, duration: config.windowSeconds, keyPrefix: keys.rateLimit(scope) };
    if (!redis || scope === 'ip') return new RateLimiterMemory(limits);
    return new RateLimiterRedis({
      ...limits,
      storeClient: redis,
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory(limits),
    });
  };
  return { perIp: build('ip', config.perIp), perPrincipal: build('principal', config.perPrincipal) };
}
