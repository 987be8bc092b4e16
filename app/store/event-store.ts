import type { EventStore, JSONRPCMessage } from '@modelcontextprotocol/server';

/**
 * Resumable streams for the 2025-era transport. The SDK's `EventStore` has no notion of a
 * session, and its standalone GET stream is called `_GET_stream` in every session, so each
 * session gets its own store: streams are keyed by session and stream id.
 */
export interface SessionEventStores {
  /**
   * `requestIdsOf` names the requests a new stream answers (the SDK's `storeEvent` is told only the
   * stream's id): they go into the stream's origin (StreamOrigin).
   */
  forSession(sessionId: string, requestIdsOf?: (streamId: string) => (string | number)[]): SessionEventStore;
}

/**
 * The SDK's EventStore, whose replay also takes the client's signal: a resume served by the app
 * (app/sessions/resumed-request-stream.ts) stops following its call once the client leaves. The
 * SDK's own resumes pass no signal.
 */
export interface SessionEventStore extends EventStore {
  replayEventsAfter(
    lastEventId: string,
    options: { send: (eventId: string, message: JSONRPCMessage) => Promise<void>; signal?: AbortSignal },
  ): Promise<string>;
}

export interface EventStoreLimits {
  /** Events kept per stream (in Redis, per session: its streams share one Redis Stream); older ones are dropped. */
  maxEventsPerStream: number;
  /** A stream nobody writes to is forgotten after this long. */
  ttlSeconds: number;
}

/** Stream ids the SDK mints are `_GET_stream` or UUIDs; anything else in a Last-Event-ID is refused. */
const STREAM_ID = /^[A-Za-z0-9_-]{1,128}$/;
/** A position inside a stream: two numbers (`<ms>-<seq>`, as Redis Stream ids), each within u64. */
const POSITION = /^(\d{1,20})-(\d{1,20})$/;
const U64_MAX = 2n ** 64n - 1n;

/**
 * Where a request stream came from: the node process running its request (its relay address) and
 * the ids of the requests its POST carried. A node resuming the stream for a client needs both once
 * that process has died: it then answers those requests with an error, where the client would
 * otherwise wait for answers that will never come.
 */
export interface StreamOrigin {
  writer: string;
  requestIds: (string | number)[];
}

/** Origins above this size (many or long request ids) are left out of event ids. */
const MAX_ORIGIN_HEX = 512;
const WRITER = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * An event id is `<streamId>_<position>`, then `~<origin>` (StreamOrigin, as hex of its JSON) on
 * request streams: the client hands it back as `Last-Event-ID`, so a node that never saw the POST
 * knows whom to ask and whom to answer. It is parsed from the right, at the last `_`: stream ids
 * contain underscores (`_GET_stream`), positions and origins never do.
 */
export function formatEventId(streamId: string, position: string, origin?: string): string {
  return origin === undefined ? `${streamId}_${position}` : `${streamId}_${position}~${origin}`;
}

/** A StreamOrigin as it goes into event ids, or undefined when too large to carry. */
export function encodeOrigin(origin: StreamOrigin): string | undefined {
  const hex = Buffer.from(JSON.stringify([origin.writer, origin.requestIds])).toString('hex');
  return hex.length <= MAX_ORIGIN_HEX ? hex : undefined;
}

function decodeOrigin(hex: string): StreamOrigin | undefined {
  if (!/^(?:[0-9a-f]{2})+$/.test(hex) || hex.length > MAX_ORIGIN_HEX) return undefined;
  try {
    const [writer, requestIds] = JSON.parse(Buffer.from(hex, 'hex').toString('utf8')) as unknown[];
    if (typeof writer !== 'string' || !WRITER.test(writer) || !Array.isArray(requestIds)) return undefined;
    if (
      !requestIds.every(
        (id) => typeof id === 'string' || (typeof id === 'number' && Number.isSafeInteger(id)),
      )
    )
      return undefined;
    return { writer, requestIds: requestIds as (string | number)[] };
  } catch {
    return undefined;
  }
}

export function parseEventId(
  eventId: string,
): { streamId: string; position: string; origin?: StreamOrigin; encodedOrigin?: string } | undefined {
  const split = eventId.lastIndexOf('_');
  if (split <= 0) return undefined;
  const streamId = eventId.slice(0, split);
  const [position = '', encodedOrigin, ...rest] = eventId.slice(split + 1).split('~');
  if (!STREAM_ID.test(streamId) || !isStreamPosition(position) || rest.length > 0) return undefined;
  if (encodedOrigin === undefined) return { streamId, position };
  const origin = decodeOrigin(encodedOrigin);
  return origin ? { streamId, position, origin, encodedOrigin } : undefined;
}

/** `<ms>-<seq>`, each within u64: beyond that is no id this server issued (400, not a failed XRANGE). */
export function isStreamPosition(value: string): boolean {
  const numbers = POSITION.exec(value);
  return numbers?.slice(1).every((n) => BigInt(n) <= U64_MAX) ?? false;
}

export function isValidStreamId(streamId: string): boolean {
  return STREAM_ID.test(streamId);
}

/** Priming events (stored as `{}`) mark a position; only JSON-RPC messages are replayed. */
export function isReplayable(message: unknown): boolean {
  return typeof message === 'object' && message !== null && 'jsonrpc' in message;
}

export class InvalidEventIdError extends Error {
  readonly code = 'INVALID_EVENT_ID';
  constructor() {
    super('Last-Event-ID is not an event id this server issued (expected <streamId>_<position>)');
    this.name = 'InvalidEventIdError';
  }
}
