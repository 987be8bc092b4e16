import {
  type AuthInfo,
  type EventStore,
  isInitializeRequest,
  type McpServer,
  type ServerEvent,
  WebStandardStreamableHTTPServerTransport,
} from '@modelcontextprotocol/server';
import { LRUCache } from 'lru-cache';
import { JsonRpcCode, jsonRpcErrorResponse, sessionNotFoundResponse } from '../errors.js';
import type { Logger } from '../logger.js';
import { principalOf } from '../mcp/principal.js';
import type { ServerFactory } from '../mcp/server-factory.js';
import type { Metrics } from '../metrics.js';
import type { PrincipalQuotas, StreamLease } from '../quotas/principal-quotas.js';
import { QuotaExceededError } from '../quotas/quota-exceeded.js';
import type { NodeRelay } from '../relay/node-relay.js';
import { namespaceServerRequests } from '../relay/request-id-namespace.js';
import { relayForeignResponses } from '../relay/response-relay.js';
import { sendServerEvent } from '../relay/server-events.js';
import type { SessionEventStores } from '../store/event-store.js';
import type { SessionRecord, SessionStore } from '../store/types.js';
import { isWellFormedSessionId, newSessionId } from './session-id.js';

/**
 * A session this node holds a server instance for. The instance is a warm cache of the record:
 * any node can rebuild it from the store, so it is kept only while the session is in use.
 */
interface LiveSession {
  server: McpServer;
  transport: WebStandardStreamableHTTPServerTransport;
  /** Requests in flight and streams open on this node. A busy session is never closed to make room. */
  busy: number;
  /** Standalone GET streams open on this node: bus events go only where a client listens. */
  openGetStreams: number;
}

export interface HandleOptions {
  parsedBody?: unknown;
  authInfo?: AuthInfo;
  /**
   * The per-principal rate limit, left for this manager to check (app/http/rate-limit.ts): it is
   * sent together with the session check, so both cost one Redis round trip. A Response refuses.
   */
  admit?: () => Promise<Response | undefined>;
}

export interface StreamableSessionManagerOptions {
  store: SessionStore;
  createServer: ServerFactory;
  metrics: Metrics;
  logger: Logger;
  /**
   * How many idle server instances to keep warm; the least recently used beyond this are closed.
   * Busy sessions (a request in flight, a stream open) are not counted and never closed.
   */
  cacheMax: number;
  /** An instance idle this long is closed (SESSION_WARM_SECONDS); the session lives on in the store. */
  warmMs: number;
  heartbeatMs: number;
  /** Resumable streams (`Last-Event-ID` on any node); without it, streams are not resumable. */
  eventStores?: SessionEventStores;
  /** The SSE `retry` hint, in ms, sent with the priming event of resumable streams. */
  retryIntervalMs?: number;
  /** Carries clients' answers to server→client requests to the node waiting for them. */
  relay?: NodeRelay;
  /** tenant-limits: QUOTA_SESSIONS_PER_PRINCIPAL (admit, in use, release). */
  quotas?: PrincipalQuotas;
}

/** The record vanished between the session check and the restore's read of it. */
class SessionGoneError extends Error {}

/** Marks the replayed initialize, so that the node never mistakes it for a client's. */
const RESTORE_REQUEST_ID = 'mcp-fleet-restore';

/**
 * Serves the 2025-era Streamable HTTP transport on any node.
 *
 * The session record lives in the shared store; the transport and server are a local cache of
 * it. Every request re-checks the record (and slides its TTL) in one round trip, so a session
 * deleted or expired anywhere is gone everywhere. A node that has no transport for a live session
 * builds one by replaying the stored `initialize` through the public transport API.
 *
 * Memory follows the sessions in use, not those inside their TTL: an instance is busy while a
 * request or stream is open (never evicted: closing it would abort the calls it runs), then
 * warm for SESSION_WARM_SECONDS among at most SESSION_CACHE_MAX others, then closed.
 */
export class StreamableSessionManager {
  /** Sessions with a request in flight or a stream open here: outside the cache, never evicted. */
  private readonly busy = new Map<string, LiveSession>();
  /** Idle instances, kept for SESSION_WARM_SECONDS so that the next request needs no restore. */
  private readonly warm: LRUCache<string, LiveSession>;
  private readonly restoring = new Map<string, Promise<LiveSession>>();
  private readonly purge: NodeJS.Timeout;

  constructor(private readonly options: StreamableSessionManagerOptions) {
    this.warm = new LRUCache<string, LiveSession>({
      max: options.cacheMax,
      ttl: options.warmMs,
      // Only eviction and expiry close an instance; `delete` moves it to `busy` or is followed by `discard`.
      dispose: (session, id, reason) => {
        if (reason === 'evict' || reason === 'expire') this.close(id, session, 'idle');
      },
    });
    // One sweep instead of a timer per entry (lru-cache's ttlAutopurge re-arms one on every set).
    this.purge = setInterval(() => this.warm.purgeStale(), Math.max(1_000, options.warmMs / 2));
    this.purge.unref();
    options.relay?.onEnvelope('session-responses', async ({ sessionId, messages }) => {
      const session = this.busy.get(sessionId) ?? this.warm.peek(sessionId);
      if (!session) return 'not-held';
      const delivered = await session.transport.handleRequest(replayRequest(messages, sessionId));
      await delivered.text();
      return delivered.ok ? 'delivered' : 'not-held';
    });
  }

  /** Bus events reach the sessions whose GET stream is open on this node (and so are busy). */
  notify(event: ServerEvent): void {
    for (const [sessionId, session] of this.busy) {
      if (session.openGetStreams === 0) continue;
      sendServerEvent(session.server, event, () => this.options.store.subscriptionsOf(sessionId)).catch(
        (err: Error) => {
          this.options.logger.warn(
            { sessionId, err: err.message, event: event.kind },
            'could not notify a session',
          );
        },
      );
    }
  }

  /** Server instances held on this node, busy or warm. */
  get activeSessions(): number {
    return this.busy.size + this.warm.size;
  }

  async handle(request: Request, options: HandleOptions): Promise<Response> {
    const sessionId = request.headers.get('mcp-session-id');
    if (sessionId === null || !isWellFormedSessionId(sessionId)) {
      const refusal = await options.admit?.();
      if (refusal) return refusal;
    }
    if (sessionId === null) {
      if (request.method === 'POST' && isInitializeRequest(options.parsedBody)) {
        return this.startSession(request, options);
      }
      return jsonRpcErrorResponse(
        400,
        JsonRpcCode.ServerError,
        'Bad Request: Mcp-Session-Id header is required',
      );
    }
    if (!isWellFormedSessionId(sessionId)) return sessionNotFoundResponse();

    const principal = principalOf(options.authInfo);
    // The rate limit and the session check are sent together and awaited together: one round trip
    // in series. Each touches one hash slot, as Redis Cluster requires.
    const [status, refusal] = await Promise.all([
      this.options.store.touch(sessionId, principal),
      options.admit?.(),
    ]);
    if (refusal) return refusal;
    if (status === null || status.principal !== principal) {
      // Expired, deleted elsewhere, or presented by someone else: the same answer for each.
      if (status === null) this.discard(sessionId);
      return sessionNotFoundResponse();
    }
    this.options.quotas?.sessionInUse(principal, sessionId); // tenant-limits: keeps it counted
    if (request.method === 'DELETE') {
      await this.options.store.remove(sessionId);
      this.options.quotas?.releaseSession(principal, sessionId); // tenant-limits
      this.discard(sessionId);
      this.options.logger.info({ sessionId }, 'session ended by client');
      return new Response(null, { status: 200 });
    }
    if (request.method === 'POST' && this.options.relay) {
      const relayed = await relayForeignResponses(
        options.parsedBody,
        sessionId,
        this.options.relay,
        this.options.logger,
      );
      if (relayed) return relayed;
    }
    // tenant-limits: QUOTA_STREAMS_PER_PRINCIPAL counts a GET stream as it does a 2024 one. The
    // session is the lease's member, so a stream resumed on another node takes no second place.
    let lease: StreamLease | undefined;
    if (request.method === 'GET' && this.options.quotas) {
      try {
        lease = await this.options.quotas.openStream(principal, sessionId);
      } catch (err) {
        if (err instanceof QuotaExceededError) return err.toResponse();
        throw err;
      }
    }
    let session = this.acquire(sessionId);
    let response: Response;
    try {
      session ??= this.hold(sessionId, await this.restore(sessionId, options));
      response = await session.transport.handleRequest(request, options);
    } catch (err) {
      lease?.release();
      if (session) this.release(sessionId, session);
      if (err instanceof SessionGoneError) return sessionNotFoundResponse();
      throw err;
    }
    if (lease && !response.ok) lease.release();
    return this.holdWhileOpen(
      sessionId,
      session,
      response,
      request.method === 'GET' ? { signal: request.signal, lease } : undefined,
    );
  }

  /** Closes every local transport (and so every open stream). Records stay in the store. */
  async closeAll(): Promise<void> {
    clearInterval(this.purge);
    const sessions = [...this.busy.values(), ...this.warm.values()];
    this.busy.clear();
    this.warm.clear();
    this.options.metrics.activeSessions.dec(sessions.length);
    await Promise.allSettled(sessions.map((s) => s.server.close()));
  }

  private async startSession(request: Request, options: HandleOptions): Promise<Response> {
    const sessionId = newSessionId();
    const principal = principalOf(options.authInfo);
    const initializeParams = (options.parsedBody as { params: Record<string, unknown> }).params;
    // tenant-limits: QUOTA_SESSIONS_PER_PRINCIPAL, checked before anything is built or stored.
    try {
      await this.options.quotas?.admitSession(principal, sessionId);
    } catch (err) {
      if (err instanceof QuotaExceededError) return err.toResponse();
      throw err;
    }
    // [failover] The SDK awaits onsessioninitialized inside its own try and answers any failure as
    // 400 "Parse error" with the error's text. Keep the store's error, drop that response and the
    // session, and rethrow: the edge answers 503 with Retry-After, and no session is cached that
    // Redis never stored.
    let createFailed: { error: unknown } | undefined;
    const session = await this.connect(sessionId, options.authInfo, async () => {
      try {
        await this.options.store.create({
          id: sessionId,
          initializeParams,
          protocolVersion: '',
          principal,
          subscriptions: [],
          createdAt: Date.now(),
        });
      } catch (error) {
        createFailed = { error };
        throw error;
      }
    });
    let response: Response;
    try {
      response = await session.transport.handleRequest(request, options);
    } catch (err) {
      this.options.quotas?.releaseSession(principal, sessionId); // tenant-limits
      await session.server.close();
      throw err;
    }
    if (createFailed) {
      await Promise.allSettled([response.body?.cancel(), session.server.close()]);
      throw createFailed.error;
    }
    // [/failover]
    if (session.transport.sessionId === undefined) {
      // The transport refused the initialize (bad Accept, bad content type): no session exists.
      this.options.quotas?.releaseSession(principal, sessionId); // tenant-limits
      await session.server.close();
      return response;
    }
    this.options.metrics.activeSessions.inc();
    this.options.logger.info({ sessionId, principal }, 'session created');
    return this.holdWhileOpen(sessionId, this.hold(sessionId, session), response);
  }

  /**
   * Concurrent restores of one id share one promise, so a burst builds one transport. Only a
   * restore reads the whole record (the session check returns just its principal).
   */
  private restore(sessionId: string, options: HandleOptions): Promise<LiveSession> {
    const pending = this.restoring.get(sessionId);
    if (pending) return pending;
    const started = performance.now();
    const restoring = this.options.store
      .get(sessionId)
      .then((record) => {
        // Deleted between the check and this read: the client gets the 404 it would have got a moment later.
        if (record === null) throw new SessionGoneError();
        return this.replayInitialize(record, options.authInfo);
      })
      .then((session) => {
        this.options.metrics.activeSessions.inc();
        this.options.metrics.sessionRestores.inc({ outcome: 'ok' });
        this.options.logger.info(
          { sessionId, durationMs: Math.round((performance.now() - started) * 10) / 10 },
          'session restored from the store',
        );
        return session;
      })
      .catch((err: unknown) => {
        this.options.metrics.sessionRestores.inc({ outcome: 'error' });
        throw err;
      })
      .finally(() => this.restoring.delete(sessionId));
    this.restoring.set(sessionId, restoring);
    return restoring;
  }

  /** Takes a warm or busy instance for one more request or stream, or undefined if none is here. */
  private acquire(sessionId: string): LiveSession | undefined {
    const session = this.busy.get(sessionId) ?? this.warm.get(sessionId);
    return session && this.hold(sessionId, session);
  }

  /** Marks the session busy: out of the cache, so no eviction or expiry can close it. */
  private hold(sessionId: string, session: LiveSession): LiveSession {
    if (this.busy.get(sessionId) !== session) {
      this.warm.delete(sessionId);
      this.busy.set(sessionId, session);
    }
    session.busy++;
    return session;
  }

  /** One request or stream is done; a session with nothing left goes back to the warm cache. */
  private release(sessionId: string, session: LiveSession): void {
    if (--session.busy > 0 || this.busy.get(sessionId) !== session) return;
    this.busy.delete(sessionId);
    this.warm.set(sessionId, session);
  }

  /** The session ended (DELETE, expiry): its instance goes, busy or not. */
  private discard(sessionId: string): void {
    const session = this.busy.get(sessionId) ?? this.warm.peek(sessionId);
    if (!session) return;
    this.busy.delete(sessionId);
    this.warm.delete(sessionId);
    this.close(sessionId, session, 'ended');
  }

  private close(sessionId: string, session: LiveSession, why: 'idle' | 'ended'): void {
    this.options.metrics.activeSessions.dec();
    session.server.close().catch((err: Error) => {
      this.options.logger.warn({ sessionId, err: err.message, why }, 'closing a session instance failed');
    });
  }

  /**
   * Keeps the session busy until the response body ends. A POST's SSE stream carries its call
   * (and the server's requests to the client) until the result, even if its client left: the
   * result is still stored for a client that resumes elsewhere. A GET stream (`getStream`, its
   * request's signal) ends when its client leaves; the HTTP adapter would only notice that at the
   * next heartbeat.
   */
  private holdWhileOpen(
    sessionId: string,
    session: LiveSession,
    response: Response,
    getStream?: { signal: AbortSignal; lease: StreamLease | undefined },
  ): Response {
    if (!response.body) {
      this.release(sessionId, session);
      return response;
    }
    const counted = getStream !== undefined && response.ok;
    if (counted) session.openGetStreams++;
    let open = true;
    const closed = () => {
      if (!open) return;
      open = false;
      if (counted) session.openGetStreams--;
      getStream?.lease?.release();
      this.release(sessionId, session);
    };
    const reader = response.body.getReader();
    const leave = () => {
      closed();
      reader.cancel().catch(() => undefined);
    };
    // The client may have gone while the stream was being opened.
    if (getStream?.signal.aborted) leave();
    else getStream?.signal.addEventListener('abort', leave, { once: true });
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (!done) {
            controller.enqueue(value);
            return;
          }
          closed();
          controller.close();
        } catch (err) {
          closed();
          controller.error(err);
        }
      },
      cancel(reason) {
        closed();
        return reader.cancel(reason);
      },
    });
    return new Response(body, { status: response.status, headers: response.headers });
  }

  /**
   * Rebuilds a session through the public API: a fresh transport that mints the same id, a fresh
   * server, then the stored `initialize` and `notifications/initialized`. Replaying restores the
   * client's capabilities too, which elicitation and sampling depend on.
   */
  private async replayInitialize(
    record: SessionRecord,
    authInfo: AuthInfo | undefined,
  ): Promise<LiveSession> {
    const replay: ReplayState = { active: true };
    const session = await this.connect(record.id, authInfo, undefined, replay);
    try {
      const init = await session.transport.handleRequest(
        replayRequest({
          jsonrpc: '2.0',
          id: RESTORE_REQUEST_ID,
          method: 'initialize',
          params: record.initializeParams,
        }),
        { authInfo },
      );
      await init.text();
      if (!init.ok) throw new Error(`replaying initialize answered ${init.status}`);
      const initialized = await session.transport.handleRequest(
        replayRequest({ jsonrpc: '2.0', method: 'notifications/initialized' }, record.id),
        { authInfo },
      );
      await initialized.text();
      return session;
    } catch (err) {
      await session.server.close();
      throw err;
    } finally {
      replay.active = false;
    }
  }

  private async connect(
    sessionId: string,
    authInfo: AuthInfo | undefined,
    onCreated?: () => Promise<void>,
    replay?: ReplayState,
  ): Promise<LiveSession> {
    const server = this.options.createServer({ era: 'legacy', authInfo, transport: 'streamable-http' });
    const events = this.options.eventStores?.forSession(sessionId);
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => sessionId,
      keepAliveMs: this.options.heartbeatMs,
      // A restore's replayed initialize answers on a stream no client reads: storing its events
      // would cost two Redis round trips per restore for nothing (bench/README.md, fixes).
      eventStore: events && replay ? skipWhileReplaying(events, replay) : events,
      retryInterval: this.options.retryIntervalMs,
      ...(onCreated ? { onsessioninitialized: onCreated } : {}),
    });
    server.server.oninitialized = () => {
      const version = server.server.getNegotiatedProtocolVersion();
      if (onCreated && version) {
        this.options.store.setProtocolVersion(sessionId, version).catch((err: Error) => {
          this.options.logger.warn({ sessionId, err: err.message }, 'could not record the protocol version');
        });
      }
    };
    await server.connect(transport);
    if (this.options.relay) namespaceServerRequests(transport, this.options.relay.address);
    return { server, transport, busy: 0, openGetStreams: 0 };
  }
}

/** While a restore replays `initialize`, the transport's writes to the event store are dropped. */
interface ReplayState {
  active: boolean;
}

function skipWhileReplaying(events: EventStore, replay: ReplayState): EventStore {
  const wrapped: EventStore = {
    storeEvent: (streamId, message) =>
      // Any id will do: nobody reads the replayed stream, so nobody resumes from it.
      replay.active ? Promise.resolve(`${streamId}:replayed`) : events.storeEvent(streamId, message),
    replayEventsAfter: events.replayEventsAfter.bind(events),
  };
  if (events.getStreamIdForEventId) wrapped.getStreamIdForEventId = events.getStreamIdForEventId.bind(events);
  return wrapped;
}

function replayRequest(message: Record<string, unknown> | unknown[], sessionId?: string): Request {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
  };
  if (sessionId) headers['mcp-session-id'] = sessionId;
  // The URL is never fetched; the transport only reads the method, headers and body.
  return new Request('http://mcp-fleet.internal/mcp', {
    method: 'POST',
    headers,
    body: JSON.stringify(message),
  });
}
