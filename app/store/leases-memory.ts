import type { LeaseKind, LeaseStore } from './leases.js';

/** The embedded mode's leases: the same contract as the Redis ones, in process memory. */
export function createMemoryLeases(options: { now?: () => number } = {}): LeaseStore {
  const now = options.now ?? Date.now;
  /** `kind principal` -> member -> expiry (epoch ms). */
  const sets = new Map<string, Map<string, number>>();
  const setOf = (kind: LeaseKind, principal: string) => `${kind} ${principal}`;
  /** A principal's live leases, with the expired ones dropped (and the set, once empty). */
  const live = (key: string): Map<string, number> => {
    const set = sets.get(key) ?? new Map<string, number>();
    const at = now();
    for (const [member, expiry] of set) if (expiry <= at) set.delete(member);
    if (set.size === 0) sets.delete(key);
    return set;
  };
  const sweep = setInterval(() => {
    for (const key of sets.keys()) live(key);
  }, 30_000);
  sweep.unref();

  return {
    async claim(kind, principal, member, ttlMs, max) {
      const key = setOf(kind, principal);
      const set = live(key);
      if (max > 0 && set.size >= max && !set.has(member)) return { held: false, count: set.size };
      set.set(member, now() + ttlMs);
      sets.set(key, set);
      return { held: true, count: set.size };
    },
    async refresh(kind, principal, members, ttlMs) {
      if (members.length === 0) return;
      const key = setOf(kind, principal);
      const set = live(key);
      for (const member of members) set.set(member, now() + ttlMs);
      sets.set(key, set);
    },
    async release(kind, principal, member) {
      const key = setOf(kind, principal);
      const set = live(key);
      set.delete(member);
      if (set.size === 0) sets.delete(key);
    },
  };
}
