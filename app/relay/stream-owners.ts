import type { Keys } from '../store/keys.js';
import type { RedisClient } from '../store/redis-connection.js';
import { storeError } from '../store/redis-errors.js';
import { defineScripts } from '../store/redis-store.js';

/**
 * Who holds each 2024-11-05 SSE stream: the relay address of the owning node. The owner slides
 * the record on every heartbeat; a record that stops moving expires, and a node that finds its
 * claim taken over closes its now-orphaned stream.
 */
export interface StreamOwnerRegistry {
  claim(sessionId: string, address: string): Promise<void>;
  ownerOf(sessionId: string): Promise<string | null>;
  /** Slides this node's claims; returns the sessions it no longer owns. */
  refresh(sessionIds: string[], address: string): Promise<string[]>;
  /** Removes the claim if it still names `address`. */
  release(sessionId: string, address: string): Promise<void>;
}

export function createRedisStreamOwners(deps: {
  redis: RedisClient;
  keys: Keys;
  ttlSeconds: number;
}): StreamOwnerRegistry {
  const { redis, keys, ttlSeconds } = deps;
  const scripts = defineScripts(redis, {
    refreshOwner: 'refresh-owner-1.lua',
    releaseOwner: 'release-owner-1.lua',
  });
  // Any Redis error is a 503 with Retry-After at the edge (redis-errors.ts classifies it).
  const guarded = async <T>(operation: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      throw storeError(operation, err);
    }
  };
  return {
    claim: (sessionId, address) =>
      guarded('sse-owner.claim', async () => {
        await redis.set(keys.sseStreamOwner(sessionId), address, 'EX', ttlSeconds);
      }),
    ownerOf: (sessionId) => guarded('sse-owner.get', () => redis.get(keys.sseStreamOwner(sessionId))),
    refresh: (sessionIds, address) =>
      guarded('sse-owner.refresh', async () => {
        const owned = await Promise.all(
          sessionIds.map((id) => scripts.refreshOwner(keys.sseStreamOwner(id), address, ttlSeconds)),
        );
        return sessionIds.filter((_, i) => owned[i] !== 1);
      }),
    release: (sessionId, address) =>
      guarded('sse-owner.release', async () => {
        await scripts.releaseOwner(keys.sseStreamOwner(sessionId), address);
      }),
  };
}

export function createMemoryStreamOwners(options: {
  ttlSeconds: number;
  now?: () => number;
}): StreamOwnerRegistry {
  const now = options.now ?? Date.now;
  const owners = new Map<string, { address: string; expiresAt: number }>();
  const current = (sessionId: string) => {
    const entry = owners.get(sessionId);
    if (entry && entry.expiresAt <= now()) owners.delete(sessionId);
    return owners.get(sessionId);
  };
  return {
    async claim(sessionId, address) {
      owners.set(sessionId, { address, expiresAt: now() + options.ttlSeconds * 1000 });
    },
    ownerOf: async (sessionId) => current(sessionId)?.address ?? null,
    async refresh(sessionIds, address) {
      return sessionIds.filter((id) => {
        const entry = current(id);
        if (entry?.address !== address) return true;
        entry.expiresAt = now() + options.ttlSeconds * 1000;
        return false;
      });
    },
    async release(sessionId, address) {
      if (current(sessionId)?.address === address) owners.delete(sessionId);
    },
  };
}
