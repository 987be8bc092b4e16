import { StoreUnavailableError } from '../errors.js';
import type { Keys } from './keys.js';
import type { LeaseStore } from './leases.js';
import type { RedisClient } from './redis-connection.js';
import { defineScripts } from './redis-store.js';

/**
 * Leases in Redis: one sorted set per principal and kind (`principal:{P}:sessions`,
 * `principal:{P}:streams`), so every node counts the same leases, and every script touches one
 * key (one hash slot, ready for Redis Cluster).
 */
export function createRedisLeases(deps: { redis: RedisClient; keys: Keys }): LeaseStore {
  const { redis, keys } = deps;
  const scripts = defineScripts(redis, {
    claimLease: 'claim-lease-1.lua',
    refreshLeases: 'refresh-leases-1.lua',
  });
  // A lost connection is an outage (503 at the edge); a reply error is a bug and stays one.
  const guarded = async <T>(operation: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      if (err instanceof Error && err.name === 'ReplyError') throw err;
      throw new StoreUnavailableError(operation, err);
    }
  };
  return {
    claim: (kind, principal, member, ttlMs, max) =>
      guarded(`${kind}.claim`, async () => {
        const [held, count] = (await scripts.claimLease(
          keys.principalLeases(principal, kind),
          Math.ceil(ttlMs),
          max,
          member,
        )) as [number, number];
        return { held: held === 1, count };
      }),
    refresh: (kind, principal, members, ttlMs) =>
      guarded(`${kind}.refresh`, async () => {
        if (members.length === 0) return;
        await scripts.refreshLeases(keys.principalLeases(principal, kind), Math.ceil(ttlMs), ...members);
      }),
    release: (kind, principal, member) =>
      guarded(`${kind}.release`, async () => {
        await redis.zrem(keys.principalLeases(principal, kind), member);
      }),
  };
}
