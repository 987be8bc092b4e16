import {
  type AuthInfo,
  type EventStore,
  isInitializeRequest,
  type McpServer,
  type ServerCapabilities,
  SUPPORTED_PROTOCOL_VERSIONS,
  WebStandardStreamableHTTPServerTransport,
} from '@modelcontextprotocol/server';
import { LRUCache } from 'lru-cache';
import type { EventLog, LogPosition } from '../bus/event-log.js';
import {
  JsonRpcCode,
  jsonRpcErrorResponse,
  StoreUnavailableError,
  sessionNotFoundResponse,
} from '../errors.js';
import type { Logger } from '../logger.js';
import { principalOf } from '../mcp/principal.js';
import type { ServerFactory } from '../mcp/server-factory.js';
import type { Metrics } from '../metrics.js';
import type { PrincipalQuotas, StreamLease } from '../quotas/principal-quotas.js';
import { QuotaExceededError } from '../quotas/quota-exceeded.js';
import type { NodeRelay } from '../relay/node-relay.js';
import { namespaceServerRequests } from '../relay/request-id-namespace.js';
import { relayForeignResponses } from '../relay/response-relay.js';
import { parseEventId, type SessionEventStore, type SessionEventStores } from '../store/event-store.js';
import type { SessionRecord, SessionStore } from '../store/types.js';
import { GET_STREAM_ID, GetStreamHub, getStreamEventId, resumePositionOf } from './get-streams.js';
import { negotiatedVersion } from './negotiated-version.js';
import { resumeRequestStream } from './resumed-request-stream.js';
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
  /** The logging level applied to this instance (the record's, as of this node's last request). */
  loggingLevel: string | undefined;
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
  /** Resumable request streams (`Last-Event-ID` on any node); without it, they are not resumable. */
  eventStores?: SessionEventStores;
  /**
   * The shared event log: what standalone GET streams carry (app/sessions/get-streams.ts), and how
   * a DELETE reaches every node.
   */
  eventLog: EventLog;
  /** The SSE `retry` hint, in ms, sent with the priming event of resumable streams. */
  retryIntervalMs?: number;
  /** Carries clients' answers to server→client requests to the node waiting for them. */
  relay?: NodeRelay;
  /** tenant-limits: QUOTA_SESSIONS_PER_PRINCIPAL (admit, in use, release). */
  quotas?: PrincipalQuotas;
}

/** The record vanished between the session check and the restore's read of it. */
class SessionGoneError extends Error {}

/** The stored `initialize` was refused when replayed (after an upgrade, say): the session cannot be rebuilt. */
class UnrestorableSessionError extends Error {}

/** Protocol versions whose clients accept an event with empty data (a priming event carrying only an id). */
const PRIMING_SINCE = '2025-11-25';
/**
 * Resumed request streams one session may have open on one node at once. A client resumes each of
 * its broken calls once (a handful); each follower reads Redis ten times a second while its call
 * runs, so a client resuming without end is refused (429) rather than followed without bound.
 */
const MAX_RESUMED_STREAMS_PER_SESSION = 16;

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
  /** Standalone GET streams: held outside the server instances, fed from the event log. */
  private readonly getStreams: GetStreamHub;
  /** How many resumed request streams each session has open on this node (resumed-request-stream.ts). */
  private readonly resumedStreams = new Map<string, number>();
  private readonly streamHeartbeat: NodeJS.Timeout;
  private capabilities: ServerCapabilities | undefined;

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
      const delivered = await session.transport.handleRequest(replayRequest(sessionId), {
        parsedBody: messages,
      });
      await delivered.text();
      return delivered.ok ? 'delivered' : 'not-held';
    });
    this.getStreams = new GetStreamHub({
      log: options.eventLog,
      capabilities: () => this.serverCapabilities(),
      subscriptionsOf: (sessionId) => options.store.subscriptionsOf(sessionId),
      heartbeatMs: options.heartbeatMs,
      retryMs: options.retryIntervalMs,
      logger: options.logger,
    });
    // A session deleted on any node ends here too: its instance and its GET stream.
    options.eventLog.onEntry((_position, entry) => {
      if (entry.kind === 'ended') this.discard(entry.sessionId);
    });
    this.streamHeartbeat = setInterval(() => void this.touchListeningSessions(), options.heartbeatMs);
    this.streamHeartbeat.unref();
  }

  /**
   * Every heartbeat: a client listening on its GET stream keeps its session alive, as a 2024 stream
   * does, and a stream whose session expired or was deleted is closed (its client then gets 404 and
   * initializes again). One touch per stream, sent together.
   */
  private async touchListeningSessions(): Promise<void> {
    await Promise.all(
      this.getStreams.sessionIds().map(async (sessionId) => {
        try {
          const status = await this.options.store.touch(sessionId);
          if (status !== null) {
            this.options.quotas?.sessionInUse(status.principal, sessionId);
            return;
          }
          this.options.logger.info({ sessionId }, 'closing the GET stream of a session that ended');
          this.getStreams.end(sessionId);
          this.discard(sessionId);
        } catch (err) {
          // Redis unreachable: the stream stays; the next heartbeat tries again.
          this.options.logger.debug(
            { sessionId, err: (err as Error).message },
            'could not touch a listening session',
          );
        }
      }),
    );
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
    // A POST for a session this node holds no instance of restores it: the check then brings the
    // whole record, so that the restore needs no round trip of its own.
    const withRecord = request.method === 'POST' && !this.holds(sessionId);
    // The rate limit and the session check are sent together and awaited together: one round trip
    // in series. Each touches one hash slot, as Redis Cluster requires.
    const [status, refusal] = await Promise.all([
      this.options.store.touch(sessionId, principal, { withRecord }),
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
      // Every other node drops its instance and closes its GET stream of the session.
      this.options.eventLog.append({ kind: 'ended', sessionId }).catch((err: Error) => {
        this.options.logger.warn({ sessionId, err: err.message }, 'could not announce a session end');
      });
      this.options.logger.info({ sessionId }, 'session ended by client');
      return new Response(null, { status: 200 });
    }
    if (request.method === 'GET') {
      // The standalone stream is served here, and so is a request's stream whose request runs in
      // another node process; the session's transport resumes the others.
      const lastEventId = request.headers.get('last-event-id');
      const after = lastEventId === null ? undefined : resumePositionOf(lastEventId);
      if (after === null) {
        return jsonRpcErrorResponse(
          400,
          JsonRpcCode.ServerError,
          'Bad Request: Last-Event-ID is not an event id this server issued',
        );
      }
      if (lastEventId === null || after !== undefined)
        return this.openGetStream(request, sessionId, principal, after);
      const writer = parseEventId(lastEventId)?.origin?.writer;
      const stores = this.options.eventStores;
      if (writer !== undefined && writer !== this.options.relay?.address && stores)
        return this.followElsewhere(request, sessionId, lastEventId, stores.forSession(sessionId));
    }
    if (request.method === 'POST' && this.options.relay) {
      const relayed = await relayForeignResponses(
        options.parsedBody,
        sessionId,
        this.options.relay,
        this.options.logger,
      );
      if ('answered' in relayed) return relayed.answered;
      if (relayed.local !== options.parsedBody) options = { ...options, parsedBody: relayed.local };
    }
    let session = this.acquire(sessionId);
    let response: Response;
    try {
      session ??= this.hold(sessionId, await this.restore(sessionId, options, status.record));
      // The client may have set its logging level through another node since this instance last served.
      if (session.loggingLevel !== status.loggingLevel)
        applyLoggingLevel(session, sessionId, status.loggingLevel);
      const level = request.method === 'POST' ? loggingLevelSetBy(options.parsedBody) : undefined;
      if (level !== undefined) {
        await this.options.store.setLoggingLevel(sessionId, level);
        applyLoggingLevel(session, sessionId, level);
      }
      response = await session.transport.handleRequest(request, options);
    } catch (err) {
      if (session) this.release(sessionId, session);
      if (err instanceof SessionGoneError) return sessionNotFoundResponse();
      if (err instanceof UnrestorableSessionError) return this.forgetUnrestorable(sessionId, principal, err);
      throw err;
    }
    return this.holdWhileOpen(
      sessionId,
      session,
      response,
      request.method === 'GET' ? request.signal : undefined,
    );
  }

  /**
   * The session's standalone GET stream, fresh or resumed (`after`). It needs no server instance:
   * what it carries comes from the event log. As the SDK transport did, a second fresh stream of a
   * session on the node that holds one is refused (409); a resumed one replaces it.
   */
  private async openGetStream(
    request: Request,
    sessionId: string,
    principal: string,
    after: LogPosition | undefined,
  ): Promise<Response> {
    const refused = refuseUnlessEventStream(request);
    if (refused) return refused;
    const version = request.headers.get('mcp-protocol-version');
    if (version !== null && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
      return jsonRpcErrorResponse(
        400,
        JsonRpcCode.ServerError,
        `Bad Request: Unsupported protocol version: ${version} (supported versions: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')})`,
      );
    }
    if (after === undefined && this.getStreams.holds(sessionId)) {
      return jsonRpcErrorResponse(
        409,
        JsonRpcCode.ServerError,
        'Conflict: Only one SSE stream is allowed per session',
      );
    }
    // tenant-limits: QUOTA_STREAMS_PER_PRINCIPAL counts a GET stream as it does a 2024 one. The
    // session is the lease's member, so a stream resumed on another node takes no second place.
    let lease: StreamLease | undefined;
    try {
      lease = await this.options.quotas?.openStream(principal, sessionId);
    } catch (err) {
      if (err instanceof QuotaExceededError) return err.toResponse();
      throw err;
    }
    try {
      return await this.getStreams.open(sessionId, {
        after,
        priming: version !== null && version >= PRIMING_SINCE,
        signal: request.signal,
        closed: () => lease?.release(),
      });
    } catch (err) {
      lease?.release();
      // The log is unreadable (Redis down, or this node's reader not started yet).
      throw new StoreUnavailableError((err as Error).message);
    }
  }

  /**
   * A request's stream resumed here while its request runs in another node process: followed from
   * the event store (resumed-request-stream.ts), at most MAX_RESUMED_STREAMS_PER_SESSION at once.
   */
  private followElsewhere(
    request: Request,
    sessionId: string,
    lastEventId: string,
    events: SessionEventStore,
  ): Response {
    const refused = refuseUnlessEventStream(request);
    if (refused) return refused;
    const following = this.resumedStreams.get(sessionId) ?? 0;
    if (following >= MAX_RESUMED_STREAMS_PER_SESSION) {
      return jsonRpcErrorResponse(
        429,
        JsonRpcCode.ServerError,
        `Too many resumed streams: this session follows ${following} calls on this node already`,
        { data: { reason: 'too_many_resumed_streams' }, headers: { 'retry-after': '1' } },
      );
    }
    this.resumedStreams.set(sessionId, following + 1);
    return resumeRequestStream({
      events,
      lastEventId,
      sessionId,
      signal: request.signal,
      heartbeatMs: this.options.heartbeatMs,
      logger: this.options.logger,
      ended: () => {
        const left = (this.resumedStreams.get(sessionId) ?? 1) - 1;
        if (left > 0) this.resumedStreams.set(sessionId, left);
        else this.resumedStreams.delete(sessionId);
      },
    });
  }

  /**
   * The stored `initialize` is refused on replay: no node can rebuild this session, so it is
   * deleted, and the client gets the 404 that makes it initialize again (instead of a 500 forever).
   */
  private async forgetUnrestorable(sessionId: string, principal: string, err: Error): Promise<Response> {
    this.options.logger.warn({ sessionId, err: err.message }, 'session cannot be restored; deleting it');
    await this.options.store.remove(sessionId);
    this.options.quotas?.releaseSession(principal, sessionId); // tenant-limits
    return sessionNotFoundResponse();
  }

  private serverCapabilities(): ServerCapabilities {
    if (!this.capabilities) {
      const probe = this.options.createServer({ era: 'legacy', transport: 'streamable-http' });
      this.capabilities = probe.server.getCapabilities();
      probe.close().catch(() => undefined);
    }
    return this.capabilities;
  }

  /** Closes every local transport (and so every open stream). Records stay in the store. */
  async closeAll(): Promise<void> {
    clearInterval(this.purge);
    clearInterval(this.streamHeartbeat);
    this.getStreams.closeAll();
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
          protocolVersion: negotiatedVersion(initializeParams),
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
   * restore needs the whole record: the session check brought it when this node had no instance,
   * and it is read here otherwise (an instance closed between the check and now).
   */
  private restore(sessionId: string, options: HandleOptions, checked?: SessionRecord): Promise<LiveSession> {
    const pending = this.restoring.get(sessionId);
    if (pending) return pending;
    const started = performance.now();
    const restoring = (checked ? Promise.resolve(checked) : this.options.store.get(sessionId))
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

  /** Whether this node has an instance of the session, busy, warm or being restored. */
  private holds(sessionId: string): boolean {
    return this.busy.has(sessionId) || this.warm.has(sessionId) || this.restoring.has(sessionId);
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
   * result is still stored for a client that resumes elsewhere. A resumed request stream (a GET,
   * `leftSignal` its request's signal) ends when its client leaves; the HTTP adapter would only
   * notice that at the next heartbeat.
   */
  private holdWhileOpen(
    sessionId: string,
    session: LiveSession,
    response: Response,
    leftSignal?: AbortSignal,
  ): Response {
    if (!response.body) {
      this.release(sessionId, session);
      return response;
    }
    let open = true;
    const closed = () => {
      if (!open) return;
      open = false;
      this.release(sessionId, session);
    };
    const reader = response.body.getReader();
    const leave = () => {
      closed();
      reader.cancel().catch(() => undefined);
    };
    // The client may have gone while the stream was being opened.
    if (leftSignal?.aborted) leave();
    else leftSignal?.addEventListener('abort', leave, { once: true });
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
        } catch {
          // The SDK's stream failed: the response ends, and the client resumes from the last id
          // it read (an error here would reach stderr through the adapter; web-adapter.ts).
          closed();
          controller.close();
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
   * server, then the stored `initialize`. Replaying restores the client's capabilities too, which
   * elicitation and sampling depend on. `notifications/initialized` is not sent through the
   * transport again: the server's only handler for it calls its `oninitialized` callback
   * (@modelcontextprotocol/server 2.4.0, pinned), which is called directly instead, and the
   * transport would spend a request, a validation and a 202 on it (about 0.2 ms of each restore).
   */
  private async replayInitialize(
    record: SessionRecord,
    authInfo: AuthInfo | undefined,
  ): Promise<LiveSession> {
    const replay: ReplayState = { active: true };
    const session = await this.connect(record.id, authInfo, undefined, replay);
    try {
      const init = await session.transport.handleRequest(replayRequest(), {
        authInfo,
        // Handed over parsed: the request carries no body to serialize, stream and parse again.
        parsedBody: {
          jsonrpc: '2.0',
          id: RESTORE_REQUEST_ID,
          method: 'initialize',
          params: record.initializeParams,
        },
      });
      const answer = await init.text();
      if (init.status >= 400 && init.status < 500)
        throw new UnrestorableSessionError(
          `replaying initialize answered ${init.status}: ${answer.slice(0, 200)}`,
        );
      if (!init.ok) throw new Error(`replaying initialize answered ${init.status}`);
      session.server.server.oninitialized?.();
      applyLoggingLevel(session, record.id, record.loggingLevel);
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
    const stored = this.options.eventStores?.forSession(sessionId, (streamId) =>
      requestIdsOfStream(transport, streamId),
    );
    const events = stored && withStandaloneOnLog(stored, sessionId, this.options.eventLog);
    const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => sessionId,
      keepAliveMs: this.options.heartbeatMs,
      // A restore's replayed initialize answers on a stream no client reads: storing its events
      // would cost two Redis round trips per restore for nothing (bench/README.md, fixes).
      eventStore: events && replay ? skipWhileReplaying(events, replay) : events,
      retryInterval: this.options.retryIntervalMs,
      ...(onCreated ? { onsessioninitialized: onCreated } : {}),
    });
    await server.connect(transport);
    if (this.options.relay) namespaceServerRequests(transport, this.options.relay.address);
    return { server, transport, busy: 0, loggingLevel: undefined };
  }
}

/**
 * The transport's standalone-stream messages (a server→client message outside any request) go to
 * the event log, for whichever node holds the session's GET stream; the transport itself never
 * holds one (GETs are served by the GetStreamHub), so it only stores them.
 */
function withStandaloneOnLog(events: EventStore, sessionId: string, log: EventLog): EventStore {
  return {
    storeEvent: async (streamId, message) => {
      if (streamId !== GET_STREAM_ID) return events.storeEvent(streamId, message);
      return getStreamEventId(await log.append({ kind: 'message', sessionId, message }));
    },
    replayEventsAfter: events.replayEventsAfter.bind(events),
    ...(events.getStreamIdForEventId
      ? { getStreamIdForEventId: events.getStreamIdForEventId.bind(events) }
      : {}),
  };
}

/**
 * The ids of the requests whose answers go down a stream of the transport. The SDK records them
 * (`_requestToStreamMapping`, request id → stream id) before it stores a new stream's first event,
 * and tells the event store only the stream's id; the map is read directly
 * (@modelcontextprotocol/server 2.4.0, pinned; the node_gone test in test/app/resumability.test.ts
 * fails if it moves). Reading it costs nothing on the request path, where an AsyncLocalStorage
 * context per POST would turn on async hooks for every promise of the process (Node 20).
 */
function requestIdsOfStream(
  transport: WebStandardStreamableHTTPServerTransport,
  streamId: string,
): (string | number)[] {
  const mapping = (transport as unknown as { _requestToStreamMapping?: Map<string | number, string> })
    ._requestToStreamMapping;
  if (!(mapping instanceof Map)) return [];
  const ids: (string | number)[] = [];
  for (const [requestId, stream] of mapping) if (stream === streamId) ids.push(requestId);
  return ids;
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

const LOGGING_LEVELS = new Set([
  'debug',
  'info',
  'notice',
  'warning',
  'error',
  'critical',
  'alert',
  'emergency',
]);

/** The level the last valid `logging/setLevel` request of a POST body sets, if any. */
function loggingLevelSetBy(body: unknown): string | undefined {
  let level: string | undefined;
  for (const message of Array.isArray(body) ? body : [body]) {
    const request = message as { method?: unknown; params?: { level?: unknown } } | null;
    const candidate = request?.method === 'logging/setLevel' ? request.params?.level : undefined;
    if (typeof candidate === 'string' && LOGGING_LEVELS.has(candidate)) level = candidate;
  }
  return level;
}

/**
 * Sets the level the SDK server filters `notifications/message` by. The SDK keeps it per server
 * instance (`_loggingLevels`, keyed by session id) and offers no setter besides a `logging/setLevel`
 * request, which would go through the transport and its event store; the map is set directly
 * (@modelcontextprotocol/server 2.4.0, pinned; test/app/logging-level.test.ts fails if it moves).
 */
function applyLoggingLevel(session: LiveSession, sessionId: string, level: string | undefined): void {
  const levels = (session.server.server as unknown as { _loggingLevels?: Map<string | undefined, string> })
    ._loggingLevels;
  if (!(levels instanceof Map)) return;
  if (level === undefined) levels.delete(sessionId);
  else levels.set(sessionId, level);
  session.loggingLevel = level;
}

/**
 * A POST for this node to hand its own transport. The URL is never fetched; the transport reads only
 * the method and headers, and is given the message itself as `parsedBody`.
 */
function replayRequest(sessionId?: string): Request {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
  };
  if (sessionId) headers['mcp-session-id'] = sessionId;
  return new Request('http://mcp-fleet.internal/mcp', { method: 'POST', headers });
}

/** 406 for a GET that does not accept an event stream, as the SDK transport answers. */
function refuseUnlessEventStream(request: Request): Response | undefined {
  if (request.headers.get('accept')?.includes('text/event-stream')) return undefined;
  return jsonRpcErrorResponse(
    406,
    JsonRpcCode.ServerError,
    'Not Acceptable: Client must accept text/event-stream',
  );
}
