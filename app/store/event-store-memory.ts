import type { EventId, EventStore, JSONRPCMessage, StreamId } from '@modelcontextprotocol/server';
import { LRUCache } from 'lru-cache';
import {
  type EventStoreLimits,
  formatEventId,
  InvalidEventIdError,
  isReplayable,
  parseEventId,
  type SessionEventStores,
} from './event-store.js';

interface StoredStream {
  nextSequence: number;
  events: { sequence: number; message: JSONRPCMessage }[];
}

/**
 * The embedded mode's event store: the same contract as the Redis one, in process memory, and
 * bounded like it (unlike the SDK's InMemoryEventStore, which never evicts): each stream keeps
 * its last `maxEventsPerStream` events and is dropped `ttlSeconds` after its last write, and at
 * most `maxStreams` streams are kept.
 */
export function createMemoryEventStores(
  limits: EventStoreLimits & { maxStreams?: number },
): SessionEventStores {
  const streams = new LRUCache<string, StoredStream>({
    max: limits.maxStreams ?? 50_000,
    ttl: limits.ttlSeconds * 1000,
  });
  // One sweep for every stream (lru-cache's ttlAutopurge re-arms a timer on every write).
  setInterval(() => streams.purgeStale(), Math.max(1_000, (limits.ttlSeconds * 1000) / 2)).unref();
  const keyOf = (sessionId: string, streamId: string) => `${sessionId}\u0000${streamId}`;

  return {
    forSession(sessionId: string): EventStore {
      return {
        async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
          const key = keyOf(sessionId, streamId);
          const stream = streams.get(key) ?? { nextSequence: 1, events: [] };
          const sequence = stream.nextSequence++;
          stream.events.push({ sequence, message });
          if (stream.events.length > limits.maxEventsPerStream) stream.events.shift();
          streams.set(key, stream); // refreshes the TTL
          return formatEventId(streamId, `${sequence}-0`);
        },
        async getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
          return parseEventId(eventId)?.streamId;
        },
        async replayEventsAfter(lastEventId, { send }): Promise<StreamId> {
          const parsed = parseEventId(lastEventId);
          if (!parsed) throw new InvalidEventIdError();
          const after = Number(parsed.position.split('-')[0]);
          const stream = streams.get(keyOf(sessionId, parsed.streamId), { updateAgeOnGet: false });
          for (const event of stream?.events ?? []) {
            if (event.sequence > after && isReplayable(event.message)) {
              await send(formatEventId(parsed.streamId, `${event.sequence}-0`), event.message);
            }
          }
          return parsed.streamId;
        },
      };
    },
  };
}
