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
import type { PrincipalQuotas } from '../quotas/principal-quotas.js';
import { QuotaExceededError } from '../quotas/quota-exceeded.js';
import type { NodeRelay } from '../relay/node-relay.js';
import { namespaceServerRequests } from '../relay/request-id-namespace.js';
import { relayForeignResponses } from '../relay/response-relay.js';
import { sendServerEvent } from '../relay/server-events.js';
import type { SessionEventStores } from '../store/event-store.js';
import type { SessionRecord, SessionStore } from '../store/types.js';
import { isWellFormedSessionId, newSessionId } from './session-id.js';

/** A session this node holds a transport for. Only this node's streams live here. */
interface LiveSession {
  server: McpServer;
  transport: WebStandardStreamableHTTPServerTransport;
  /** Standalone GET streams open on this node: bus events go only where a client listens. */
  openGetStreams: number;
}

export interface HandleOptions {
  parsedBody?: unknown;
  authInfo?: AuthInfo;
}

export interface StreamableSessionManagerOptions {
  store: SessionStore;
  createServer: ServerFactory;
  metrics: Metrics;
  logger: Logger;
  /** How many live transports to keep; the least recently used beyond this are closed. */
  cacheMax: number;
  /** A local transport idle this long is closed; it matches the session TTL. */
  idleMs: number;
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

/** Marks the replayed initialize, so that the node never mistakes it for a client's. */
const RESTORE_REQUEST_ID = 'mcp-fleet-restore';

/**
 * Serves the 2025-era Streamable HTTP transport on any node.
 *
 * The session record lives in the shared store; the transport and server are a local cache of
 * it. Every request re-checks the record (and slides its TTL) in one round trip, so a session
 * deleted or expired anywhere is gone everywhere. A node that has no transport for a live session
 * builds one by replaying the stored `initialize` through the public transport API.
 */
export class StreamableSessionManager {
  private readonly live: LRUCache<string, LiveSession>;
  private readonly restoring = new Map<string, Promise<LiveSession>>();

  constructor(private readonly options: StreamableSessionManagerOptions) {
    this.live = new LRUCache<string, LiveSession>({
      max: options.cacheMax,
      ttl: options.idleMs,
      updateAgeOnGet: true,
      ttlAutopurge: true,
      dispose: (session, id) => {
        options.metrics.activeSessions.dec();
        session.server.close().catch((err: Error) => {
          options.logger.warn({ sessionId: id, err: err.message }, 'closing an evicted session failed');
        });
      },
    });
    options.relay?.onEnvelope('session-responses', async ({ sessionId, messages }) => {
      const session = this.live.get(sessionId);
      if (!session) return 'not-held';
      const delivered = await session.transport.handleRequest(replayRequest(messages, sessionId));
      await delivered.text();
      return delivered.ok ? 'delivered' : 'not-held';
    });
  }

  /** Bus events reach the sessions whose GET stream is open on this node. */
  notify(event: ServerEvent): void {
    for (const [sessionId, session] of this.live.entries()) {
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

  get activeSessions(): number {
    return this.live.size;
  }

  async handle(request: Request, options: HandleOptions): Promise<Response> {
    const sessionId = request.headers.get('mcp-session-id');
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

    const record = await this.options.store.touch(sessionId, principalOf(options.authInfo));
    if (record === null || record.principal !== principalOf(options.authInfo)) {
      // Expired, deleted elsewhere, or presented by someone else: the same answer for each.
      if (record === null) this.live.delete(sessionId);
      return sessionNotFoundResponse();
    }
    this.options.quotas?.sessionInUse(record.principal, sessionId); // tenant-limits: keeps it counted
    if (request.method === 'DELETE') {
      await this.options.store.remove(sessionId);
      this.options.quotas?.releaseSession(record.principal, sessionId); // tenant-limits
      this.live.delete(sessionId);
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
    const session = this.live.get(sessionId) ?? (await this.restore(record, options.authInfo));
    const response = await session.transport.handleRequest(request, options);
    return request.method === 'GET' ? trackGetStream(response, session) : response;
  }

  /** Closes every local transport (and so every open stream). Records stay in the store. */
  async closeAll(): Promise<void> {
    const sessions = [...this.live.values()];
    this.live.clear();
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
      const now = Date.now();
      try {
        await this.options.store.create({
          id: sessionId,
          initializeParams,
          protocolVersion: '',
          principal,
          subscriptions: [],
          createdAt: now,
          lastSeen: now,
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
    this.remember(sessionId, session);
    this.options.logger.info({ sessionId, principal }, 'session created');
    return response;
  }

  /** Concurrent restores of one id share one promise, so a burst builds one transport. */
  private restore(record: SessionRecord, authInfo: AuthInfo | undefined): Promise<LiveSession> {
    const pending = this.restoring.get(record.id);
    if (pending) return pending;
    const started = performance.now();
    const restoring = this.replayInitialize(record, authInfo)
      .then((session) => {
        this.remember(record.id, session);
        this.options.metrics.sessionRestores.inc({ outcome: 'ok' });
        this.options.logger.info(
          { sessionId: record.id, durationMs: Math.round((performance.now() - started) * 10) / 10 },
          'session restored from the store',
        );
        return session;
      })
      .catch((err: unknown) => {
        this.options.metrics.sessionRestores.inc({ outcome: 'error' });
        throw err;
      })
      .finally(() => this.restoring.delete(record.id));
    this.restoring.set(record.id, restoring);
    return restoring;
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
    return { server, transport, openGetStreams: 0 };
  }

  private remember(sessionId: string, session: LiveSession): void {
    this.live.set(sessionId, session);
    this.options.metrics.activeSessions.inc();
  }
}

/** Counts a GET event stream as open until the client goes away or the stream ends. */
function trackGetStream(response: Response, session: LiveSession): Response {
  if (!response.ok || !response.body) return response;
  session.openGetStreams++;
  let open = true;
  const closed = () => {
    if (open) session.openGetStreams--;
    open = false;
  };
  const reader = response.body.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) {
        closed();
        controller.close();
      } else controller.enqueue(value);
    },
    cancel(reason) {
      closed();
      return reader.cancel(reason);
    },
  });
  return new Response(body, { status: response.status, headers: response.headers });
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
