import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import type { RateLimitConfig } from '../config.js';
import type { Keys } from './keys.js';
import type { RedisClient } from './redis-connection.js';

export interface RateLimiters {
  /** Per client IP, before authentication: it bounds what an anonymous flood costs. */
  perIp: RateLimiterAbstract | undefined;
  /** Per principal, after authentication: one caller cannot starve the others. */
  perPrincipal: RateLimiterAbstract | undefined;
}

/**
 * The rate limiters of one node. With Redis, the counters are shared by every node (one atomic
 * INCR-with-TTL script per request, from rate-limiter-flexible), so a limit means the same thing
 * however many nodes the load balancer spreads a caller over. In the embedded mode they live in
 * process memory.
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
    if (!redis) return new RateLimiterMemory(limits);
    return new RateLimiterRedis({
      ...limits,
      storeClient: redis,
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory(limits),
    });
  };
  return { perIp: build('ip', config.perIp), perPrincipal: build('principal', config.perPrincipal) };
}
