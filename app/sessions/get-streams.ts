import type { JSONRPCMessage, ServerCapabilities, ServerEvent } from '@modelcontextprotocol/server';
import { comparePositions, type EventLog, type LogEntry, type LogPosition } from '../bus/event-log.js';
import type { Logger } from '../logger.js';
import { isStreamPosition } from '../store/event-store.js';

/** The SDK's id for a session's standalone GET stream; its event ids are `_GET_stream_<log position>`. */
export const GET_STREAM_ID = '_GET_stream';
const EVENT_ID_PREFIX = `${GET_STREAM_ID}_`;

/** Entries read per round trip when a stream is resumed. */
const REPLAY_BATCH = 500;
/**
 * A client that stops reading is cut off once this much is queued for it: it resumes from the last
 * event it read with `Last-Event-ID`, and nothing is lost. Without a cap one stalled client holds
 * node memory without bound (app-review finding 10).
 */
export const MAX_QUEUED_BYTES = 1024 * 1024;

const encoder = new TextEncoder();
export const KEEPALIVE = encoder.encode(': keepalive\n\n');
/** Counts queued bytes; it holds no state, so every stream shares it. */
const QUEUE_BY_BYTES = new ByteLengthQueuingStrategy({ highWaterMark: MAX_QUEUED_BYTES });

/** A session's event stream as the SDK transport answers one: unbuffered by proxies, never cached. */
export function eventStreamResponse(body: ReadableStream<Uint8Array>, sessionId: string): Response {
  return new Response(body, {
    headers: {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'mcp-session-id': sessionId,
    },
  });
}

export function getStreamEventId(position: LogPosition): string {
  return `${EVENT_ID_PREFIX}${position}`;
}

/**
 * The log position a standalone stream's `Last-Event-ID` names; undefined for the id of a request's
 * stream (those are resumed by the session's transport), and null for an id this server never issues.
 */
export function resumePositionOf(lastEventId: string): LogPosition | null | undefined {
  if (!lastEventId.startsWith(EVENT_ID_PREFIX)) return undefined;
  const position = lastEventId.slice(EVENT_ID_PREFIX.length);
  return isStreamPosition(position) ? position : null;
}

/** One open standalone GET stream of a 2025-era session, held on this node. */
interface HeldStream {
  sessionId: string;
  controller: ReadableStreamDefaultController<Uint8Array>;
  /** The log position of the last event written to it: nothing at or before it is written again. */
  cursor: LogPosition;
  /** Set while the stream replays from the log: live entries wait here, then go after the replay. */
  pending: Array<[LogPosition, LogEntry]> | undefined;
  /** Writes waiting for an asynchronous check (a resource subscription), so that order is kept. */
  queue: Promise<void> | undefined;
  queued: number;
  /** Whether the stream still runs (a replay stops when its client leaves). */
  open: boolean;
  /** Resolves when the client has read enough for more to be queued (a long replay waits on it). */
  readable: (() => void) | undefined;
  close: () => void;
}

/** What an entry becomes on the wire, computed once for every stream it goes to. */
type Prepared =
  | { to: 'all'; bytes: Uint8Array; subscribedTo?: string }
  | { to: 'session'; sessionId: string; bytes: Uint8Array }
  | { to: 'ended'; sessionId: string }
  | undefined;

/**
 * The standalone GET streams of 2025-era sessions held on this node, outside any per-session
 * server instance: a stream costs a small record and its response body, not an `McpServer`.
 *
 * Everything a GET stream carries comes from the shared event log (app/bus/event-log.ts), and its
 * event ids are log positions, so one cursor per stream makes delivery exactly once:
 * - a change for every client is serialized once and the same bytes are written to every stream;
 * - a session's own server→client messages (sent by whichever node runs its server instance) are
 *   log entries for that session, delivered wherever its stream is;
 * - a client resuming with `Last-Event-ID` on any node is sent the entries after that position
 *   (read from the log, including those published while no node held its stream), then the live
 *   ones after the last it was sent.
 */
export class GetStreamHub {
  private readonly streams = new Map<string, HeldStream>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly stopListening: () => void;

  constructor(
    private readonly deps: {
      log: EventLog;
      /** What the server declares: a change whose capability it does not declare is not sent. */
      capabilities: () => ServerCapabilities;
      /** A session's resource subscriptions (its shared record), for `resources/updated`. */
      subscriptionsOf: (sessionId: string) => Promise<string[]>;
      heartbeatMs: number;
      /** The SSE `retry` hint sent with the priming event. */
      retryMs: number | undefined;
      logger: Logger;
    },
  ) {
    this.stopListening = deps.log.onEntry((position, entry) => this.deliver(position, entry));
    // One timer for every stream, instead of one per stream.
    this.heartbeat = setInterval(() => {
      for (const stream of this.streams.values()) this.write(stream, KEEPALIVE);
    }, deps.heartbeatMs);
    this.heartbeat.unref();
  }

  /** The sessions whose GET stream this node holds. */
  sessionIds(): string[] {
    return [...this.streams.keys()];
  }

  /** Whether this node holds a GET stream of the session. */
  holds(sessionId: string): boolean {
    return this.streams.has(sessionId);
  }

  /**
   * Opens the session's GET stream here. Fresh, it carries what the log gets from now on; resumed
   * (`after`, from `Last-Event-ID`), it first carries what the log holds after that position. A
   * resumed stream replaces one this node still holds for the session: its client has left it.
   * `closed` runs once when the stream ends, however it ends.
   */
  async open(
    sessionId: string,
    options: { after?: LogPosition; priming: boolean; signal: AbortSignal; closed: () => void },
  ): Promise<Response> {
    const start = options.after ?? this.deps.log.position;
    if (start === undefined) throw new Error('the event log is not being read yet');
    this.streams.get(sessionId)?.close();
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const stream: HeldStream = {
      sessionId,
      controller: undefined as never,
      cursor: start,
      pending: options.after === undefined ? undefined : [],
      queue: undefined,
      queued: 0,
      open: true,
      readable: undefined,
      close: () => {
        if (!stream.open) return;
        stream.open = false;
        stream.readable?.();
        if (this.streams.get(sessionId) === stream) this.streams.delete(sessionId);
        options.signal.removeEventListener('abort', stream.close);
        try {
          controller.close();
        } catch {
          // Already errored or closed.
        }
        options.closed();
      },
    };
    const body = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          controller = c;
        },
        pull: () => {
          const readable = stream.readable;
          stream.readable = undefined;
          readable?.();
        },
        cancel: () => stream.close(),
      },
      QUEUE_BY_BYTES,
    );
    stream.controller = controller;
    this.streams.set(sessionId, stream);
    options.signal.addEventListener('abort', stream.close, { once: true });
    if (options.priming) {
      // An id to resume from before any event arrives (clients from 2025-11-25 accept empty data),
      // so that what is published while the client reconnects reaches it.
      const retry = this.deps.retryMs === undefined ? '' : `retry: ${this.deps.retryMs}\n`;
      this.write(stream, encoder.encode(`id: ${getStreamEventId(start)}\n${retry}data: \n\n`));
    }
    if (options.after !== undefined) {
      // The first batch is read before answering, so that an unreadable log is a 503; the rest is
      // sent as the client reads it (a long gap may hold more than the queue takes).
      let first: Array<[LogPosition, LogEntry]>;
      try {
        first = await this.deps.log.readAfter(options.after, REPLAY_BATCH);
      } catch (err) {
        stream.close();
        throw err;
      }
      this.replay(stream, first).catch((err: Error) => {
        this.deps.logger.warn(
          { sessionId, err: err.message },
          'could not replay a GET stream; the client resumes',
        );
        stream.controller.error(err);
        stream.close();
      });
    }
    return eventStreamResponse(body, sessionId);
  }

  /** Ends the session's stream here (the session was deleted). */
  end(sessionId: string): void {
    this.streams.get(sessionId)?.close();
  }

  closeAll(): void {
    clearInterval(this.heartbeat);
    this.stopListening();
    for (const stream of [...this.streams.values()]) stream.close();
  }

  /**
   * Sends the entries the log holds after the resume position (`entries` is the first batch), as
   * fast as the client reads them, then the live ones that arrived meanwhile.
   */
  private async replay(stream: HeldStream, entries: Array<[LogPosition, LogEntry]>): Promise<void> {
    for (let batch = entries; ; ) {
      for (const [position, entry] of batch) {
        // Half the queue at most: what arrives live meanwhile still fits in the other half.
        while (stream.open && (stream.controller.desiredSize ?? 0) <= MAX_QUEUED_BYTES / 2) {
          await new Promise<void>((resolve) => {
            stream.readable = resolve;
          });
        }
        if (!stream.open) return;
        this.deliverTo(stream, position, this.prepare(position, entry));
      }
      if (batch.length < REPLAY_BATCH) break;
      batch = await this.deps.log.readAfter(batch.at(-1)?.[0] ?? stream.cursor, REPLAY_BATCH);
    }
    const live = stream.pending ?? [];
    stream.pending = undefined;
    for (const [position, entry] of live) this.deliverTo(stream, position, this.prepare(position, entry));
  }

  private deliver(position: LogPosition, entry: LogEntry): void {
    if (this.streams.size === 0) return;
    if (entry.kind !== 'event') {
      const stream = this.streams.get(entry.sessionId);
      if (stream) this.deliverLive(stream, position, entry, this.prepare(position, entry));
      return;
    }
    const prepared = this.prepare(position, entry);
    if (!prepared) return;
    for (const stream of this.streams.values()) this.deliverLive(stream, position, entry, prepared);
  }

  private deliverLive(stream: HeldStream, position: LogPosition, entry: LogEntry, prepared: Prepared): void {
    if (stream.pending) stream.pending.push([position, entry]);
    else this.deliverTo(stream, position, prepared);
  }

  private deliverTo(stream: HeldStream, position: LogPosition, prepared: Prepared): void {
    if (!prepared || comparePositions(position, stream.cursor) <= 0) return;
    if (prepared.to === 'ended') {
      if (prepared.sessionId === stream.sessionId) stream.close();
      return;
    }
    if (prepared.to === 'session' && prepared.sessionId !== stream.sessionId) return;
    stream.cursor = position;
    const { bytes } = prepared;
    const uri = prepared.to === 'all' ? prepared.subscribedTo : undefined;
    if (uri === undefined && stream.queue === undefined) {
      this.write(stream, bytes);
      return;
    }
    // Wait for the subscription check, or for the writes already waiting, so that order is kept.
    stream.queued++;
    stream.queue = (stream.queue ?? Promise.resolve())
      .then(async () => {
        if (uri === undefined || (await this.deps.subscriptionsOf(stream.sessionId)).includes(uri))
          this.write(stream, bytes);
      })
      .catch((err: Error) => {
        this.deps.logger.warn(
          { sessionId: stream.sessionId, err: err.message },
          'could not check a subscription',
        );
      })
      .finally(() => {
        if (--stream.queued === 0) stream.queue = undefined;
      });
  }

  /** Writes to the client, and cuts off a client that stopped reading (it resumes, losing nothing). */
  private write(stream: HeldStream, bytes: Uint8Array): void {
    try {
      stream.controller.enqueue(bytes);
    } catch {
      stream.close();
      return;
    }
    if ((stream.controller.desiredSize ?? 0) >= 0) return;
    this.deps.logger.warn(
      { sessionId: stream.sessionId, queuedBytes: MAX_QUEUED_BYTES - (stream.controller.desiredSize ?? 0) },
      'closing a GET stream whose client stopped reading; it can resume with Last-Event-ID',
    );
    stream.controller.error(new Error('client not reading'));
    stream.close();
  }

  private prepare(position: LogPosition, entry: LogEntry): Prepared {
    switch (entry.kind) {
      case 'ended':
        return { to: 'ended', sessionId: entry.sessionId };
      case 'message':
        return { to: 'session', sessionId: entry.sessionId, bytes: eventBytes(position, entry.message) };
      case 'event': {
        const notification = notificationFor(entry.event, this.deps.capabilities());
        if (!notification) return undefined;
        const bytes = eventBytes(position, notification);
        return entry.event.kind === 'resource_updated'
          ? { to: 'all', bytes, subscribedTo: entry.event.uri }
          : { to: 'all', bytes };
      }
    }
  }
}

function eventBytes(position: LogPosition, message: JSONRPCMessage): Uint8Array {
  return sseMessage(getStreamEventId(position), message);
}

/** One JSON-RPC message as an SSE event, as the SDK transport writes it. */
export function sseMessage(eventId: string, message: JSONRPCMessage): Uint8Array {
  return encoder.encode(`event: message\nid: ${eventId}\ndata: ${JSON.stringify(message)}\n\n`);
}

/**
 * The notification a change becomes for 2025-era clients; none when the server does not declare
 * the capability (the client never asked for it).
 */
function notificationFor(event: ServerEvent, capabilities: ServerCapabilities): JSONRPCMessage | undefined {
  switch (event.kind) {
    case 'tools_list_changed':
      return capabilities.tools?.listChanged
        ? { jsonrpc: '2.0', method: 'notifications/tools/list_changed' }
        : undefined;
    case 'prompts_list_changed':
      return capabilities.prompts?.listChanged
        ? { jsonrpc: '2.0', method: 'notifications/prompts/list_changed' }
        : undefined;
    case 'resources_list_changed':
      return capabilities.resources?.listChanged
        ? { jsonrpc: '2.0', method: 'notifications/resources/list_changed' }
        : undefined;
    case 'resource_updated':
      return capabilities.resources?.subscribe
        ? { jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri: event.uri } }
        : undefined;
  }
}
