import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Logger } from '../logger.js';
import type { LeaseStore } from '../store/leases.js';
import { QuotaExceededError } from './quota-exceeded.js';

export interface PrincipalQuotasOptions {
  leases: LeaseStore;
  /** QUOTA_SESSIONS_PER_PRINCIPAL; 0 turns it off. */
  sessionsPerPrincipal: number;
  /** QUOTA_STREAMS_PER_PRINCIPAL; 0 turns it off. */
  streamsPerPrincipal: number;
  /** A session's lease lasts as long as its record without a request: SESSION_TTL_SECONDS. */
  sessionTtlMs: number;
  /** This node refreshes the leases of the streams it holds this often; each lasts three of these. */
  heartbeatMs: number;
  logger: Logger;
}

/** One open stream counted against its principal, until `release()` (idempotent). */
export interface StreamLease {
  release(): void;
}

/** A stream lease outlives two missed refreshes, like an SSE stream's owner record. */
const STREAM_LEASE_HEARTBEATS = 3;
/** The most sessions whose last refresh this node remembers (a few MB at most). */
const MAX_THROTTLED_SESSIONS = 100_000;

/**
 * Per-principal caps on 2025 and 2024 sessions and on long-lived streams, shared by every node
 * through the lease store.
 *
 * - **Sessions**: admitted at creation (`admitSession`), counted while requests keep coming
 *   (`sessionInUse`, at most one write per session per quarter TTL on each node), released on
 *   DELETE; a session nobody uses drops out of the count when its record would expire.
 * - **Streams**: counted while this node holds them open (`openStream`); this node refreshes
 *   their leases every heartbeat, so the streams of a node that dies are freed three heartbeats
 *   later.
 *
 * A refusal is a QuotaExceededError naming the limit; with a limit of 0 nothing is counted and no
 * store call is made.
 */
export class PrincipalQuotas {
  /** The stream leases this node holds: member -> its principal, and how many local streams use it. */
  private readonly streams = new Map<string, { principal: string; holders: number }>();
  private readonly recentlyRefreshed: LRUCache<string, true> | undefined;
  private readonly ticker: NodeJS.Timeout | undefined;

  constructor(private readonly options: PrincipalQuotasOptions) {
    if (options.sessionsPerPrincipal > 0) {
      this.recentlyRefreshed = new LRUCache({ max: MAX_THROTTLED_SESSIONS, ttl: options.sessionTtlMs / 4 });
    }
    if (options.streamsPerPrincipal > 0) {
      this.ticker = setInterval(() => void this.refreshStreams(), options.heartbeatMs);
      this.ticker.unref();
    }
  }

  /** Counts a new session, or throws QuotaExceededError when its principal has as many as it may. */
  async admitSession(principal: string, sessionId: string): Promise<void> {
    const max = this.options.sessionsPerPrincipal;
    if (max === 0) return;
    const { held } = await this.options.leases.claim(
      'sessions',
      principal,
      sessionId,
      this.options.sessionTtlMs,
      max,
    );
    if (!held) {
      throw new QuotaExceededError(
        'QUOTA_SESSIONS_PER_PRINCIPAL',
        max,
        `this caller already has ${max} open sessions. End one (DELETE /mcp with its Mcp-Session-Id) or let an idle one expire.`,
      );
    }
    this.recentlyRefreshed?.set(sessionId, true);
  }

  /** A request for this session was served here: keep it counted. Cheap to call on every request. */
  sessionInUse(principal: string, sessionId: string): void {
    if (!this.recentlyRefreshed || this.recentlyRefreshed.has(sessionId)) return;
    this.recentlyRefreshed.set(sessionId, true);
    this.options.leases
      .refresh('sessions', principal, [sessionId], this.options.sessionTtlMs)
      .catch((err: Error) => this.warn('could not refresh a session lease', err));
  }

  /** The session ended (DELETE): it no longer counts. */
  releaseSession(principal: string, sessionId: string): void {
    if (!this.recentlyRefreshed) return;
    this.recentlyRefreshed.delete(sessionId);
    this.options.leases
      .release('sessions', principal, sessionId)
      .catch((err: Error) => this.warn('could not release a session lease', err));
  }

  /**
   * Counts a stream this node opens, or throws QuotaExceededError. Release it when the stream ends.
   *
   * `member` names the lease. A 2024 session has one stream at a time, so its id is the member:
   * resuming the stream (here or on another node) renews the same lease rather than counting
   * twice, and so never hits the limit. If the old node releases it later, the new holder's next
   * heartbeat adds it back. Without a member every stream gets a lease of its own.
   */
  async openStream(principal: string, member: string = randomUUID()): Promise<StreamLease> {
    const max = this.options.streamsPerPrincipal;
    if (max === 0) return { release: () => undefined };
    const { held } = await this.options.leases.claim('streams', principal, member, this.streamTtlMs(), max);
    if (!held) {
      throw new QuotaExceededError(
        'QUOTA_STREAMS_PER_PRINCIPAL',
        max,
        `this caller already has ${max} event streams open. Close one before opening another.`,
      );
    }
    const local = this.streams.get(member) ?? { principal, holders: 0 };
    local.holders++;
    this.streams.set(member, local);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        if (--local.holders > 0) return;
        this.streams.delete(member);
        this.options.leases
          .release('streams', principal, member)
          .catch((err: Error) => this.warn('could not release a stream lease', err));
      },
    };
  }

  close(): void {
    clearInterval(this.ticker);
  }

  private streamTtlMs(): number {
    return this.options.heartbeatMs * STREAM_LEASE_HEARTBEATS;
  }

  /** One refresh per principal per heartbeat, whatever the number of its streams here. */
  private async refreshStreams(): Promise<void> {
    const byPrincipal = new Map<string, string[]>();
    for (const [member, { principal }] of this.streams) {
      const members = byPrincipal.get(principal) ?? [];
      members.push(member);
      byPrincipal.set(principal, members);
    }
    await Promise.all(
      [...byPrincipal].map(([principal, members]) =>
        this.options.leases
          .refresh('streams', principal, members, this.streamTtlMs())
          .catch((err: Error) => this.warn('could not refresh stream leases', err)),
      ),
    );
  }

  private warn(what: string, err: Error): void {
    this.options.logger.warn({ err: err.message }, what);
  }
}
