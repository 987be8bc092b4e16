import { memoryQuotaExceeded } from '../quotas/memory-quota.js';
import {
  type FleetStore,
  MAX_SUBSCRIPTIONS_PER_SESSION,
  type MemoryQuota,
  type MemoryScope,
  type MemoryStore,
  PRINCIPAL_MEMORY_TTL_SECONDS,
  type SessionRecord,
  type SessionStore,
  TooManySubscriptionsError,
} from './types.js';

interface Expiring<T> {
  value: T;
  expiresAt: number;
}

/** One scope's values, and their size in bytes of keys plus values (UTF-8), as the Redis scripts count it. */
interface StoredValues {
  values: Map<string, string>;
  bytes: number;
}

/**
 * The embedded store: the same interfaces as the Redis store, in process memory, for a single
 * node. Expired entries are dropped lazily on access and by a periodic sweep, so memory stays
 * bounded by live sessions.
 */
export function createMemoryStore(options: {
  sessionTtlSeconds: number;
  /** QUOTA_MEMORY_KEYS and QUOTA_MEMORY_BYTES, counted exactly as the Redis scripts count them. */
  memoryQuota: MemoryQuota;
  now?: () => number;
}): FleetStore {
  const now = options.now ?? Date.now;
  const ttlMs = options.sessionTtlSeconds * 1000;
  const quota = options.memoryQuota;
  const records = new Map<string, Expiring<SessionRecord>>();
  const memories = new Map<string, Expiring<StoredValues>>();

  const live = <T>(map: Map<string, Expiring<T>>, key: string): Expiring<T> | undefined => {
    const entry = map.get(key);
    if (entry && entry.expiresAt <= now()) {
      map.delete(key);
      return undefined;
    }
    return entry;
  };
  const memoryKey = (scope: MemoryScope) =>
    scope.kind === 'session' ? `session:${scope.sessionId}` : `principal:${scope.principal}`;

  const sweep = setInterval(() => {
    for (const map of [records, memories] as Map<string, Expiring<unknown>>[]) {
      for (const key of map.keys()) live(map, key);
    }
  }, 30_000);
  sweep.unref();

  const sessions: SessionStore = {
    async create(record) {
      records.set(record.id, {
        value: copyOf(record),
        expiresAt: now() + ttlMs,
      });
    },
    async touch(id, principal, options) {
      const entry = live(records, id);
      if (!entry) return null;
      const { loggingLevel } = entry.value;
      const owner = loggingLevel
        ? { principal: entry.value.principal, loggingLevel }
        : { principal: entry.value.principal };
      if (principal !== undefined && owner.principal !== principal) return owner;
      entry.expiresAt = now() + ttlMs;
      const memory = live(memories, `session:${id}`);
      if (memory) memory.expiresAt = entry.expiresAt;
      if (!options?.withRecord) return owner;
      return { ...owner, record: copyOf(entry.value) };
    },
    async get(id) {
      const entry = live(records, id);
      return entry ? copyOf(entry.value) : null;
    },
    async setLoggingLevel(id, level) {
      const entry = live(records, id);
      if (entry) entry.value.loggingLevel = level;
    },
    async setSubscription(id, uri, subscribed) {
      const entry = live(records, id);
      if (!entry) return false;
      const current = entry.value.subscriptions.filter((u) => u !== uri);
      if (subscribed) {
        if (current.length >= MAX_SUBSCRIPTIONS_PER_SESSION) throw new TooManySubscriptionsError();
        current.push(uri);
      }
      entry.value.subscriptions = current;
      return true;
    },
    async subscriptionsOf(id) {
      return [...(live(records, id)?.value.subscriptions ?? [])];
    },
    async remove(id) {
      memories.delete(`session:${id}`);
      return records.delete(id);
    },
  };

  const memory: MemoryStore = {
    async remember(scope, key, value) {
      let expiresAt = now() + PRINCIPAL_MEMORY_TTL_SECONDS * 1000;
      if (scope.kind === 'session') {
        const session = live(records, scope.sessionId);
        if (!session) return false;
        expiresAt = session.expiresAt;
      }
      const entry = live(memories, memoryKey(scope)) ?? {
        value: { values: new Map<string, string>(), bytes: 0 },
        expiresAt,
      };
      const stored = entry.value;
      const previous = stored.values.get(key);
      const keys = stored.values.size + (previous === undefined ? 1 : 0);
      const bytes =
        stored.bytes +
        (previous === undefined
          ? Buffer.byteLength(key) + Buffer.byteLength(value)
          : Buffer.byteLength(value) - Buffer.byteLength(previous));
      // As in the scripts: a write that adds no key or no bytes is always allowed.
      if (quota.maxKeys > 0 && keys > quota.maxKeys && previous === undefined) {
        throw memoryQuotaExceeded('keys', quota, scope, stored.values.size);
      }
      if (quota.maxBytes > 0 && bytes > quota.maxBytes && bytes > stored.bytes) {
        throw memoryQuotaExceeded('bytes', quota, scope, stored.bytes);
      }
      stored.values.set(key, value);
      stored.bytes = bytes;
      entry.expiresAt = expiresAt;
      memories.set(memoryKey(scope), entry);
      return true;
    },
    async recall(scope, key) {
      return live(memories, memoryKey(scope))?.value.values.get(key) ?? null;
    },
  };

  return {
    mode: 'embedded',
    sessions,
    memory,
    isAvailable: () => true,
    ping: async () => 0,
    close: async () => clearInterval(sweep),
  };
}

/** A record to store or hand out: no caller shares the store's own (its subscriptions list is mutable). */
function copyOf(record: SessionRecord): SessionRecord {
  return { ...record, subscriptions: [...record.subscriptions] };
}
