import type { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SseError } from '@modelcontextprotocol/sdk/client/sse.js';
import { connectSseClient, structuredOf } from '../../helpers/clients.js';

interface NodeInfo {
  nodeId: string;
  sessionId: string | null;
}

/** Why the client moved its stream: the server refused a POST with 410, or the stream itself broke. */
export type ReconnectReason = 'gone-410' | 'stream-broke';

/**
 * A long-lived 2024-11-05 client app around the real v1 `SSEClientTransport`, doing what our
 * README asks of such an app and what the v1 transport does not do by itself:
 * - when its event stream breaks, or a POST is answered 410 Gone, it reconnects with
 *   `GET /sse?sessionId=<its id>` (on whichever node the ingress picks) and keeps its session.
 *   Left alone, the v1 transport's EventSource would reconnect to plain `/sse` and silently start
 *   a NEW session, losing the old one's state;
 * - a call refused with 410 is sent once more after reconnecting: 410 means the server did not
 *   deliver the message (it refuses before delivering), so resending cannot run a tool twice.
 *   Any other error (503, a stream that broke with the call in flight) is the caller's to see.
 */
export class ReconnectingSseClient {
  /** Each move of the stream: when the client saw it was needed (`from`) and when it was done (`at`). */
  readonly reconnects: { reason: ReconnectReason; from: number; at: number; nodeId: string }[] = [];
  /** Reconnections that gave up: a session this client could not keep. */
  readonly reconnectFailures: string[] = [];
  private reconnecting: Promise<void> | undefined;
  private closing = false;
  /** POSTs sent and not yet answered, counted by `countPosts`. */
  private posts = { inFlight: 0 };

  private constructor(
    private readonly client: V1Client,
    private readonly baseUrl: string,
    /** The session this client keeps for its whole life. */
    readonly sessionId: string,
    /** The node holding the stream now. */
    public nodeId: string,
    private readonly reconnectTimeoutMs: number,
  ) {
    // A broken stream reaches the client as an SseError from the EventSource; refused POSTs are
    // plain Errors and are handled where the call is made.
    client.onerror = (err) => {
      if (!(err instanceof SseError) || this.closing) return;
      // The calls waiting on `reconnecting` see this failure too; it is kept for the test's verdict.
      this.reconnect('stream-broke').catch((failure: Error) => this.reconnectFailures.push(failure.message));
    };
  }

  static async connect(baseUrl: string, name: string, reconnectTimeoutMs = 20_000) {
    // The counter lives outside the instance, which exists only once the session is known.
    const posts = { inFlight: 0 };
    const { client } = await connectSseClient(() => baseUrl, { name, wrapFetch: countPosts(posts) });
    const info = structuredOf<NodeInfo>(await client.callTool({ name: 'node_info', arguments: {} }));
    if (!info.sessionId) throw new Error(`${name}: node_info reported no session id over SSE`);
    const sse = new ReconnectingSseClient(client, baseUrl, info.sessionId, info.nodeId, reconnectTimeoutMs);
    sse.posts = posts;
    return sse;
  }

  /** Sets a handler on the underlying v1 client (e.g. for tools/list_changed). */
  get v1(): V1Client {
    return this.client;
  }

  async callTool(name: string, args: Record<string, unknown>, timeoutMs: number): Promise<unknown> {
    await this.reconnecting;
    try {
      return await this.client.callTool({ name, arguments: args }, undefined, { timeout: timeoutMs });
    } catch (err) {
      if (httpStatusInMessage(err) !== 410) throw err;
      await this.reconnect('gone-410');
      return this.client.callTool({ name, arguments: args }, undefined, { timeout: timeoutMs });
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.reconnecting?.catch(() => undefined);
    await this.client.close();
  }

  /** One reconnection at a time; callers that arrive meanwhile wait for it. */
  private reconnect(reason: ReconnectReason): Promise<void> {
    this.reconnecting ??= this.resume(reason).finally(() => {
      this.reconnecting = undefined;
    });
    return this.reconnecting;
  }

  private async resume(reason: ReconnectReason): Promise<void> {
    const from = performance.now();
    // Closing the old transport aborts its POSTs in flight, so first let them be answered: one
    // the server refuses with 410 was not delivered and is resent after the move. Bounded well
    // below the 3 s after which the EventSource would reconnect to plain /sse by itself.
    const settled = Date.now() + 1_500;
    while (this.posts.inFlight > 0 && Date.now() < settled) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // Closing stops the EventSource, and fails the calls still waiting for an answer on the broken
    // stream ("Connection closed"): the server took them, and their answers went with the stream.
    await this.client.close();
    const deadline = Date.now() + this.reconnectTimeoutMs;
    let lastError: unknown;
    while (!this.closing && Date.now() < deadline) {
      let info: NodeInfo;
      try {
        await connectSseClient(() => this.baseUrl, {
          path: `/sse?sessionId=${this.sessionId}`,
          client: this.client,
          wrapFetch: countPosts(this.posts),
        });
        info = structuredOf<NodeInfo>(await this.client.callTool({ name: 'node_info', arguments: {} }));
      } catch (err) {
        // e.g. 503 while Redis is down. A failed connect leaves its transport attached: close it.
        lastError = err;
        await this.client.close();
        await new Promise((resolve) => setTimeout(resolve, 250));
        continue;
      }
      // Not retried: a resume that lands in another session is exactly the loss this test hunts.
      if (info.sessionId !== this.sessionId) {
        throw new Error(`resumed into session ${info.sessionId} instead of ${this.sessionId}`);
      }
      this.nodeId = info.nodeId;
      this.reconnects.push({ reason, from, at: performance.now(), nodeId: info.nodeId });
      return;
    }
    throw new Error(`could not resume SSE session ${this.sessionId}: ${String(lastError)}`);
  }
}

/** Counts the POSTs waiting for their HTTP answer (202, or a refusal such as 410). */
function countPosts(posts: { inFlight: number }) {
  return (routed: typeof fetch): typeof fetch =>
    async (input, init) => {
      if (init?.method !== 'POST') return routed(input, init);
      posts.inFlight++;
      try {
        return await routed(input, init);
      } finally {
        posts.inFlight--;
      }
    };
}

/** The v1 SSE transport reports a refused POST only in its message: "Error POSTing to endpoint (HTTP 410): …". */
export function httpStatusInMessage(err: unknown): number | undefined {
  const match = /\(HTTP (\d{3})\)/.exec((err as Error)?.message ?? '');
  return match ? Number(match[1]) : undefined;
}
