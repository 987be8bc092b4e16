import type { ServerResponse } from 'node:http';
import {
  isJSONRPCRequest,
  isJSONRPCResponse,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type JSONRPCResponse,
  type MessageExtraInfo,
  type RequestId,
  type Transport,
} from '@modelcontextprotocol/server';
import { sendEventStreamHeaders } from '../../http/event-stream-headers.js';

/**
 * The most a stream may have queued for a client that does not read (a stalled or vanished
 * client whose TCP window is shut): past it the stream is cut, and the client resumes with
 * `GET /sse?sessionId=`. Without a cap the node buffers for it without bound (review §1 finding 10).
 */
export const MAX_QUEUED_BYTES = 1024 * 1024;

export interface SseStreamTransportOptions {
  sessionId: string;
  /** The POST endpoint announced to the client, with the session id in its query. */
  endpoint: string;
  /** Interval of the keep-alive comments that keep proxies and load balancers from closing an idle stream. */
  heartbeatMs: number;
}

/**
 * The 2024-11-05 HTTP+SSE transport, server side, for one stream on this node: messages to the
 * client go down the event stream; messages from the client arrive by `deliver` (a local POST, or
 * one relayed from another node). It knows nothing about Redis, relays or sessions: that is
 * LegacySseSessions' job.
 */
export class SseStreamTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;
  readonly sessionId: string;

  private closed = false;
  private keepAlive: NodeJS.Timeout | undefined;
  /** Requests the node itself feeds in (restoring a session); their responses never reach the client. */
  private readonly internal = new Map<RequestId, (response: JSONRPCResponse) => void>();
  /** Client requests not answered yet: a drain waits for them before it closes the stream. */
  private readonly unanswered = new Set<RequestId>();

  constructor(
    private readonly res: ServerResponse,
    private readonly options: SseStreamTransportOptions,
  ) {
    this.sessionId = options.sessionId;
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Sends the headers at once (see sendEventStreamHeaders) and starts the keep-alive comments. */
  async start(): Promise<void> {
    this.res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    sendEventStreamHeaders(this.res);
    this.res.on('close', () => this.finish());
    this.keepAlive = setInterval(() => this.write(': keep-alive\n\n'), this.options.heartbeatMs);
    this.keepAlive.unref();
  }

  /**
   * Tells the client where to POST. Sent only once the session is ready (restored sessions first
   * replay their initialize), so that no client message can overtake the restore.
   */
  announceEndpoint(): void {
    this.write(`event: endpoint\ndata: ${this.options.endpoint}\n\n`);
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (isJSONRPCResponse(message) && message.id !== undefined && this.internal.has(message.id)) {
      this.internal.get(message.id)?.(message);
      this.internal.delete(message.id);
      return;
    }
    // No session id in the message: callers log it (app/log-privacy.ts), and ids are credentials.
    if (this.closed) throw new Error('the event stream of this session is closed');
    this.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
    if (isAnswer(message)) this.unanswered.delete(message.id);
  }

  get unansweredRequests(): number {
    return this.unanswered.size;
  }

  /** A message from the client, however it reached this node. */
  deliver(message: JSONRPCMessage, extra?: MessageExtraInfo): void {
    if (isJSONRPCRequest(message) && !this.internal.has(message.id)) this.unanswered.add(message.id);
    this.onmessage?.(message, extra);
  }

  /** Feeds a request from the node itself and returns the server's response, which the client never sees. */
  exchangeInternally(request: JSONRPCRequest, extra?: MessageExtraInfo): Promise<JSONRPCResponse> {
    const response = new Promise<JSONRPCResponse>((resolve) => this.internal.set(request.id, resolve));
    this.deliver(request, extra);
    return response;
  }

  async close(): Promise<void> {
    if (!this.res.writableEnded && !this.res.destroyed) this.res.end();
    this.finish();
  }

  private write(chunk: string): void {
    if (this.closed || this.res.writableEnded) return;
    // A client that left before start() listened for 'close' is seen here, at the latest on the
    // next heartbeat: writing to its destroyed response would fail silently, forever.
    if (this.res.destroyed) {
      this.finish();
      return;
    }
    this.res.write(chunk);
    if (this.res.writableLength > MAX_QUEUED_BYTES) this.res.destroy();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.keepAlive);
    this.onclose?.();
  }
}

function isAnswer(message: JSONRPCMessage): message is JSONRPCMessage & { id: RequestId } {
  return 'id' in message && message.id !== undefined && ('result' in message || 'error' in message);
}
