import type { EventStore } from '@modelcontextprotocol/server';

/**
 * Resumable streams for the 2025-era transport. The SDK's `EventStore` has no notion of a
 * session, and its standalone GET stream is called `_GET_stream` in every session, so each
 * session gets its own store: streams are keyed by session and stream id.
 */
export interface SessionEventStores {
  forSession(sessionId: string): EventStore;
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
 * An event id is `<streamId>_<position>`. It is parsed from the right, at the last `_`: stream
 * ids contain underscores (`_GET_stream`), positions never do.
 */
export function formatEventId(streamId: string, position: string): string {
  return `${streamId}_${position}`;
}

export function parseEventId(eventId: string): { streamId: string; position: string } | undefined {
  const split = eventId.lastIndexOf('_');
  if (split <= 0) return undefined;
  const streamId = eventId.slice(0, split);
  const position = eventId.slice(split + 1);
  if (!STREAM_ID.test(streamId) || !isStreamPosition(position)) return undefined;
  return { streamId, position };
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
