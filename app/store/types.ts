/**
 * The serializable session record: everything any node needs to rebuild a 2025-era session.
 * Live streams are not here; they belong to whichever node holds them.
 */
export interface SessionRecord {
  id: string;
  /** The client's original `initialize` params, replayed verbatim on restore. */
  initializeParams: Record<string, unknown>;
  /** The negotiated protocol version (app/sessions/negotiated-version.ts); empty until `initialize` (2024). */
  protocolVersion: string;
  /** Who created the session. A request from anyone else gets 404, as for an unknown id. */
  principal: string;
  /** 2025-era `resources/subscribe` URIs: any node holding the session's stream reads them. */
  subscriptions: string[];
  createdAt: number;
  /** The level the client set with `logging/setLevel`, on whichever node: every node applies it. */
  loggingLevel?: string;
}

/** What every request needs from the record: that the session is live, whose it is, and its logging level. */
export interface SessionStatus {
  principal: string;
  loggingLevel?: string;
  /** The whole record, when it was asked for (`withRecord`) and the caller's principal matched. */
  record?: SessionRecord;
}

export interface SessionStore {
  create(record: SessionRecord): Promise<void>;
  /**
   * Re-checks the record and slides its TTL in one round trip, on every request. Returns null when
   * the session has expired or was deleted, on any node. Given the caller's principal, a session
   * of another principal is reported without being touched: a stranger's request must not keep it
   * alive. `withRecord`: a node about to restore the session gets the whole record in the same
   * round trip (not for a session of another principal).
   */
  touch(id: string, principal?: string, options?: { withRecord?: boolean }): Promise<SessionStatus | null>;
  /** The whole record, for a node that rebuilds the session; null when it is gone. */
  get(id: string): Promise<SessionRecord | null>;
  /** Sets the session's logging level (`logging/setLevel`), only if the session still exists. */
  setLoggingLevel(id: string, level: string): Promise<void>;
  /**
   * Adds or removes a resource subscription, only if the session exists. Returns false when the
   * session is gone; throws TooManySubscriptionsError past MAX_SUBSCRIPTIONS_PER_SESSION.
   */
  setSubscription(id: string, uri: string, subscribed: boolean): Promise<boolean>;
  /** The session's subscriptions, or an empty list when it is gone. */
  subscriptionsOf(id: string): Promise<string[]>;
  /** Ends the session cluster-wide. Returns false when it did not exist. */
  remove(id: string): Promise<boolean>;
}

/** Where `remember`/`recall` keep values: per session (2025 era) or per principal (2026). */
export type MemoryScope = { kind: 'session'; sessionId: string } | { kind: 'principal'; principal: string };

export interface MemoryStore {
  /**
   * Returns false when the scope is a session that no longer exists. Throws QuotaExceededError
   * (app/quotas/quota-exceeded.ts) when the value would take the scope past its MemoryQuota.
   */
  remember(scope: MemoryScope, key: string, value: string): Promise<boolean>;
  recall(scope: MemoryScope, key: string): Promise<string | null>;
}

/** The state a node shares with its peers: Redis in a cluster, process memory in the embedded mode. */
export interface FleetStore {
  readonly mode: 'redis' | 'embedded';
  readonly sessions: SessionStore;
  readonly memory: MemoryStore;
  /** Synchronous and cheap: false while the connection is down, so requests can fail fast. */
  isAvailable(): boolean;
  /** Round-trip latency in milliseconds; throws StoreUnavailableError when unreachable. */
  ping(): Promise<number>;
  close(): Promise<void>;
}

/**
 * What one memory scope may hold: keys, and bytes of keys plus values (UTF-8); 0 means no limit.
 * A scope is a principal (2026) or a session (2025, 2024). Each is capped in the one script that
 * writes it, atomically and within one hash slot; a principal's sessions are capped in number
 * (QUOTA_SESSIONS_PER_PRINCIPAL), so what a principal stores is bounded by
 * (sessions + 1) × maxBytes.
 */
export interface MemoryQuota {
  maxKeys: number;
  maxBytes: number;
}

/** How long a principal's 2026-era memory lives after its last write. */
export const PRINCIPAL_MEMORY_TTL_SECONDS = 30 * 24 * 3600;

/** Bounds the record: a client cannot grow it without limit by subscribing. */
export const MAX_SUBSCRIPTIONS_PER_SESSION = 256;

export class TooManySubscriptionsError extends Error {
  readonly code = 'TOO_MANY_SUBSCRIPTIONS';
  constructor() {
    super(`A session may subscribe to at most ${MAX_SUBSCRIPTIONS_PER_SESSION} resources`);
    this.name = 'TooManySubscriptionsError';
  }
}
