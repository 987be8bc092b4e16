import {
  type FleetStore,
  MAX_SUBSCRIPTIONS_PER_SESSION,
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

/**
 * The embedded store: the same interfaces as the Redis store, in process memory, for a single
 * node. Expired entries are dropped lazily on access and by a periodic sweep, so memory stays
 * bounded by live sessions.
 */
export function createMemoryStore(options: { sessionTtlSeconds: number; now?: () => number }): FleetStore {
  const now = options.now ?? Date.now;
  const ttlMs = options.sessionTtlSeconds * 1000;
  const records = new Map<string, Expiring<SessionRecord>>();
  const memories = new Map<string, Expiring<Map<string, string>>>();

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
        value: { ...record, subscriptions: [...record.subscriptions] },
        expiresAt: now() + ttlMs,
      });
    },
    async touch(id, principal) {
      const entry = live(records, id);
      if (!entry) return null;
      if (principal !== undefined && entry.value.principal !== principal) return { ...entry.value };
      entry.expiresAt = now() + ttlMs;
      entry.value.lastSeen = now();
      const memory = live(memories, `session:${id}`);
      if (memory) memory.expiresAt = entry.expiresAt;
      return { ...entry.value, subscriptions: [...entry.value.subscriptions] };
    },
    async setProtocolVersion(id, protocolVersion) {
      const entry = live(records, id);
      if (entry) entry.value.protocolVersion = protocolVersion;
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
      const entry = live(memories, memoryKey(scope)) ?? { value: new Map<string, string>(), expiresAt };
      entry.value.set(key, value);
      entry.expiresAt = expiresAt;
      memories.set(memoryKey(scope), entry);
      return true;
    },
    async recall(scope, key) {
      return live(memories, memoryKey(scope))?.value.get(key) ?? null;
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
