import {
  type AuthInfo,
  isInitializeRequest,
  isJSONRPCRequest,
  type JSONRPCMessage,
  type McpServer,
  parseJSONRPCMessage,
  type ServerEvent,
} from '@modelcontextprotocol/server';
import { JsonRpcCode } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { principalOf } from '../../mcp/principal.js';
import type { ServerFactory } from '../../mcp/server-factory.js';
import type { Metrics } from '../../metrics.js';
import type { PrincipalQuotas, StreamLease } from '../../quotas/principal-quotas.js';
import { QUOTA_EXCEEDED_STATUS, QuotaExceededError } from '../../quotas/quota-exceeded.js';
import type { NodeRelay, RelayEnvelope } from '../../relay/node-relay.js';
import { sendServerEvent } from '../../relay/server-events.js';
import type { StreamOwnerRegistry } from '../../relay/stream-owners.js';
import { negotiatedVersion } from '../../sessions/negotiated-version.js';
import { isWellFormedSessionId, newSessionId } from '../../sessions/session-id.js';
import type { SessionRecord, SessionStore } from '../../store/types.js';
import { SseStreamTransport } from './sse-stream-transport.js';
import { toolScopeRefusal } from './tool-scopes.js';

/** A request the HTTP layer must refuse, with its status and JSON-RPC error. */
export interface Refusal {
  status: number;
  code: number;
  message: string;
  data?: Record<string, unknown>;
  headers?: Record<string, string>;
}

interface LiveSseSession {
  server: McpServer;
  transport: SseStreamTransport;
  authInfo: AuthInfo | undefined;
  record: SessionRecord;
  /** This stream, counted against its principal's QUOTA_STREAMS_PER_PRINCIPAL. */
  streamLease: StreamLease;
  /** Ids of the requests this stream took: a request sent again (a client re-sending after a 503) runs once. */
  taken: RecentIds;
}

export interface LegacySseSessionsOptions {
  store: SessionStore;
  owners: StreamOwnerRegistry;
  relay: NodeRelay;
  createServer: ServerFactory;
  metrics: Metrics;
  logger: Logger;
  heartbeatMs: number;
  /** Per-principal caps on sessions and streams (a 2024 session is created with its first stream). */
  quotas: PrincipalQuotas;
  /** OAUTH_TOOL_SCOPES, checked on each POST that carries a tools/call (see tool-scopes.ts). */
  toolScopes?: Record<string, string[]>;
  /** Where clients POST their messages, as they address it; the session id is appended as `?sessionId=`. */
  messagesPath: string;
}

/** Marks the replayed initialize of a restored session. */
const RESTORE_REQUEST_ID = 'mcp-fleet-restore';

const notFound: Refusal = { status: 404, code: JsonRpcCode.SessionNotFound, message: 'Session not found' };

/**
 * The 2024-11-05 HTTP+SSE sessions of this node, in a cluster.
 *
 * The session record (initialize params, principal) lives in the shared store like a 2025-era
 * one; the event stream lives on exactly one node, whose relay address is the session's owner
 * record. A POST reaching any other node is relayed to the owner. When the owner is gone the POST
 * is answered 410, and the client reconnects with `GET /sse?sessionId=<id>` on any node, which
 * rebuilds the session from its record and becomes the new owner.
 */
export class LegacySseSessions {
  private readonly live = new Map<string, LiveSseSession>();
  private draining = false;
  private readonly ticker: NodeJS.Timeout;
  private readonly messagesPath: string;

  constructor(private readonly options: LegacySseSessionsOptions) {
    this.messagesPath = options.messagesPath;
    options.relay.onEnvelope('sse-messages', (envelope) => this.deliverRelayed(envelope));
    this.ticker = setInterval(() => void this.heartbeat(), options.heartbeatMs);
    this.ticker.unref();
  }

  get activeSessions(): number {
    return this.live.size;
  }

  /**
   * `GET /sse` (a new session) or `GET /sse?sessionId=` (resume one held by a dead node, or by
   * this one). Returns a refusal, or undefined once the stream is open and announced.
   */
  async openStream(
    res: import('node:http').ServerResponse,
    resumeId: string | undefined,
    authInfo: AuthInfo | undefined,
  ): Promise<Refusal | undefined> {
    const principal = principalOf(authInfo);
    const { quotas } = this.options;
    let record: SessionRecord | undefined;
    let newSession = false;
    let streamLease: StreamLease | undefined;
    try {
      if (resumeId !== undefined) {
        if (!isWellFormedSessionId(resumeId)) return notFound;
        // With the principal, a stranger's request leaves another principal's session untouched.
        const status = await this.options.store.touch(resumeId, principal);
        if (status === null || status.principal !== principal) return notFound;
        const stored = await this.options.store.get(resumeId);
        if (stored === null) return notFound;
        record = stored;
        quotas.sessionInUse(principal, record.id);
      } else {
        const now = Date.now();
        record = {
          id: newSessionId(),
          initializeParams: {},
          protocolVersion: '',
          principal,
          subscriptions: [],
          createdAt: now,
        };
        await quotas.admitSession(principal, record.id);
        newSession = true;
      }
      // One lease per session: a stream resumed here, or on another node, replaces the old one.
      streamLease = await quotas.openStream(principal, record.id);
      await this.live.get(record.id)?.server.close();
      if (newSession) await this.options.store.create(record);
    } catch (err) {
      streamLease?.release();
      if (newSession && record) quotas.releaseSession(principal, record.id);
      if (err instanceof QuotaExceededError) return quotaRefusal(err);
      throw err;
    }
    await this.options.owners.claim(record.id, this.options.relay.address);

    const server = this.options.createServer({ era: 'legacy', authInfo, transport: 'sse' });
    const transport = new SseStreamTransport(res, {
      sessionId: record.id,
      endpoint: `${this.messagesPath}?sessionId=${record.id}`,
      heartbeatMs: this.options.heartbeatMs,
    });
    const session: LiveSseSession = {
      server,
      transport,
      authInfo,
      record,
      streamLease,
      taken: new RecentIds(MAX_REMEMBERED_REQUEST_IDS),
    };
    await server.connect(transport);
    const serverOnClose = transport.onclose;
    transport.onclose = () => {
      serverOnClose?.();
      this.forget(session);
    };
    this.live.set(record.id, session);
    this.options.metrics.activeSessions.inc();
    if (res.destroyed) {
      // The client left while the stream was being set up: forget it now, lease and owner record too.
      await transport.close();
      return undefined;
    }

    if (resumeId !== undefined && Object.keys(record.initializeParams).length > 0) {
      await this.replayInitialize(session);
    }
    transport.announceEndpoint();
    this.options.logger.info(
      { sessionId: record.id, principal, resumed: resumeId !== undefined, relay: this.options.relay.address },
      resumeId === undefined ? 'sse session created' : 'sse session resumed on this node',
    );
    return undefined;
  }

  /** `POST /messages?sessionId=`: deliver here, or relay to the node holding the stream. */
  async postMessages(
    sessionId: string | undefined,
    body: unknown,
    authInfo: AuthInfo | undefined,
  ): Promise<Refusal | undefined> {
    if (sessionId === undefined) {
      return {
        status: 400,
        code: JsonRpcCode.ServerError,
        message: 'Bad Request: the sessionId query parameter is required',
      };
    }
    if (!isWellFormedSessionId(sessionId)) return notFound;
    let messages: JSONRPCMessage[];
    try {
      messages = (Array.isArray(body) ? body : [body]).map((m) => parseJSONRPCMessage(m));
      if (messages.length === 0) throw new Error('empty batch');
    } catch {
      return {
        status: 400,
        code: JsonRpcCode.InvalidRequest,
        message: 'Invalid Request: the body is not a JSON-RPC message',
      };
    }
    const status = await this.options.store.touch(sessionId, principalOf(authInfo));
    if (status === null || status.principal !== principalOf(authInfo)) return notFound;
    const forbidden = await toolScopeRefusal(messages, authInfo, this.options.toolScopes ?? {});
    if (forbidden) return forbidden;

    const local = this.live.get(sessionId);
    if (local?.transport.isOpen) {
      // A draining node takes no new calls: 410 sends the client to another node, and nothing
      // ran here, so it can resend safely. Answers to the node's own requests still go through.
      if (this.draining && messages.some(isJSONRPCRequest)) return gone(sessionId);
      await this.receive(local, messages);
      return undefined;
    }
    const owner = await this.options.owners.ownerOf(sessionId);
    if (owner === null || owner === this.options.relay.address) return gone(sessionId);
    const outcome = await this.options.relay.send(owner, {
      kind: 'sse-messages',
      sessionId,
      messages,
    });
    switch (outcome) {
      case 'delivered':
        return undefined;
      case 'unreachable':
        await this.options.owners.release(sessionId, owner);
        this.options.logger.info({ sessionId, owner }, 'the node holding this sse stream is gone');
        return gone(sessionId);
      case 'not-held':
        return gone(sessionId);
      case 'timeout':
        return {
          status: 503,
          code: JsonRpcCode.InternalError,
          message:
            'Service unavailable: the node holding this event stream did not confirm the message in time. Retry shortly.',
          data: { reason: 'relay_timeout' },
          headers: { 'retry-after': '1' },
        };
    }
  }

  /** Bus events reach the streams this node holds. */
  notify(event: ServerEvent): void {
    for (const [sessionId, session] of this.live) {
      sendServerEvent(session.server, event, () => this.options.store.subscriptionsOf(sessionId)).catch(
        (err: Error) => {
          this.options.logger.warn(
            { sessionId, err: err.message, event: event.kind },
            'could not notify an sse session',
          );
        },
      );
    }
  }

  /** Stops taking new calls (clients get 410 and move); calls already taken still answer. */
  beginDrain(): void {
    this.draining = true;
  }

  /** Calls taken here that have not answered yet; the drain waits for them before closing streams. */
  unansweredCalls(): number {
    let count = 0;
    for (const session of this.live.values()) count += session.transport.unansweredRequests;
    return count;
  }

  /** Ends every stream (clients reconnect elsewhere) and gives up their ownership. Records stay. */
  async closeAll(): Promise<void> {
    clearInterval(this.ticker);
    const sessions = [...this.live.values()];
    await Promise.allSettled(
      sessions.map(async (session) => {
        await this.options.owners.release(session.record.id, this.options.relay.address);
        await session.server.close();
      }),
    );
  }

  private async deliverRelayed(envelope: RelayEnvelope): Promise<'delivered' | 'not-held'> {
    const session = this.live.get(envelope.sessionId);
    if (!session?.transport.isOpen) return 'not-held';
    if (this.draining && envelope.messages.some(isJSONRPCRequest)) return 'not-held';
    await this.receive(session, envelope.messages);
    return 'delivered';
  }

  private async receive(session: LiveSseSession, messages: JSONRPCMessage[]): Promise<void> {
    for (const message of messages) {
      if (isJSONRPCRequest(message) && !session.taken.add(message.id)) {
        // Sent again (the relay's confirmation was late and it retried, or the client resent after
        // a 503): the first copy runs, and its response goes down the stream once.
        this.options.logger.info(
          { sessionId: session.record.id, requestId: message.id },
          'dropped a request this stream already took',
        );
        continue;
      }
      if (isInitializeRequest(message)) {
        // The record must hold what any node needs to rebuild the session later.
        const initializeParams = message.params as Record<string, unknown>;
        session.record = {
          ...session.record,
          initializeParams,
          protocolVersion: negotiatedVersion(initializeParams),
        };
        await this.options.store.create(session.record);
      }
      session.transport.deliver(message, { authInfo: session.authInfo });
    }
  }

  private async replayInitialize(session: LiveSseSession): Promise<void> {
    const response = await session.transport.exchangeInternally(
      {
        jsonrpc: '2.0',
        id: RESTORE_REQUEST_ID,
        method: 'initialize',
        params: session.record.initializeParams,
      },
      { authInfo: session.authInfo },
    );
    if ('error' in response) throw new Error(`replaying initialize failed: ${response.error.message}`);
    session.transport.deliver(
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { authInfo: session.authInfo },
    );
  }

  private forget(session: LiveSseSession): void {
    const id = session.record.id;
    if (this.live.get(id) !== session) return;
    this.live.delete(id);
    this.options.metrics.activeSessions.dec();
    session.streamLease.release();
    this.options.owners.release(id, this.options.relay.address).catch((err: Error) => {
      this.options.logger.warn({ sessionId: id, err: err.message }, 'could not release an sse stream');
    });
    this.options.logger.info({ sessionId: id }, 'sse stream closed');
  }

  /**
   * Every heartbeat: slide the owner records and the session records of the streams held here.
   * A stream another node took over, or whose session ended, is closed.
   */
  private async heartbeat(): Promise<void> {
    const ids = [...this.live.keys()];
    if (ids.length === 0) return;
    try {
      const lost = new Set(await this.options.owners.refresh(ids, this.options.relay.address));
      // One touch per stream, sent together rather than one round trip after another.
      await Promise.all(
        ids.map(async (id) => {
          const record = lost.has(id) ? null : await this.options.store.touch(id);
          if (record !== null) {
            this.options.quotas.sessionInUse(record.principal, id);
            return;
          }
          this.options.logger.info({ sessionId: id }, 'closing an sse stream this node no longer owns');
          await this.live.get(id)?.server.close();
        }),
      );
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, 'sse heartbeat could not reach the store');
    }
  }
}

function quotaRefusal(err: QuotaExceededError): Refusal {
  return {
    status: QUOTA_EXCEEDED_STATUS,
    code: JsonRpcCode.ServerError,
    message: err.message,
    data: err.data,
  };
}

function gone(sessionId: string): Refusal {
  return {
    status: 410,
    code: JsonRpcCode.ServerError,
    message: `Gone: the event stream of this session has closed. Reconnect with GET /sse?sessionId=${sessionId} to continue the session.`,
    data: { reason: 'stream_closed', reconnect: `/sse?sessionId=${sessionId}` },
  };
}

/** Request ids remembered per 2024 stream, to run a request sent twice only once. */
const MAX_REMEMBERED_REQUEST_IDS = 1024;

/** The last `max` ids added, oldest dropped first. */
class RecentIds {
  private readonly ids = new Set<string | number>();
  constructor(private readonly max: number) {}

  /** Adds the id; false when it was already there. */
  add(id: string | number): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.max) this.ids.delete(this.ids.values().next().value as string | number);
    return true;
  }
}
