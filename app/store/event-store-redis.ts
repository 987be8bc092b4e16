import { setTimeout as sleep } from 'node:timers/promises';
import type { EventId, EventStore, JSONRPCMessage, StreamId } from '@modelcontextprotocol/server';
import type { Logger } from '../logger.js';
import {
  type EventStoreLimits,
  formatEventId,
  InvalidEventIdError,
  isReplayable,
  isValidStreamId,
  parseEventId,
  type SessionEventStores,
} from './event-store.js';
import type { Keys } from './keys.js';
import type { RedisClient } from './redis-connection.js';
import { classifyRedisError, isOutage } from './redis-errors.js';
import { defineScripts } from './redis-store.js';

/** The SDK's name for the standalone GET stream of every session. */
const STANDALONE_STREAM_ID = '_GET_stream';
/** How long a resumed request stream follows a call still running on another node. */
const RESUME_FOLLOW_MS = 30_000;
const RESUME_POLL_MS = 100;
/** The position before any entry of a Redis Stream. */
const STREAM_START = '0-0';

/**
 * Resumable streams on Redis Streams, so that a client whose stream broke can resume with
 * `Last-Event-ID` on any node. Each write appends, caps the stream and slides its TTL in one
 * script; a replay is one XRANGE after the client's last position.
 */
export function createRedisEventStores(deps: {
  redis: RedisClient;
  keys: Keys;
  limits: EventStoreLimits;
  logger?: Logger;
}): SessionEventStores {
  const { redis, keys, limits } = deps;
  const scripts = defineScripts(redis, { appendEvent: 'append-event-1.lua' });

  return {
    forSession(sessionId: string): EventStore {
      return {
        async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
          if (!isValidStreamId(streamId))
            throw new Error(`refusing to store events for stream id ${streamId}`);
          // The SDK writes a priming event (`{}`, nothing to replay) first on each new POST stream,
          // only to hand the client an id to resume from. The start of the stream is that id: a
          // replay after `0-0` is the whole stream. One Redis write per call saved.
          if (!isReplayable(message)) return formatEventId(streamId, STREAM_START);
          let position: string;
          try {
            position = (await scripts.appendEvent(
              keys.sessionEventStream(sessionId, streamId),
              limits.maxEventsPerStream,
              limits.ttlSeconds,
              JSON.stringify(message),
            )) as string;
          } catch (err) {
            if (!isOutage(classifyRedisError(err))) throw err;
            // Redis is unreachable, or failing over (READONLY). The SDK transport sends nothing when storeEvent throws, so the
            // client would wait forever for this response (seen in test/e2e/cluster-faults.test.ts).
            // Deliver it live, unstored, under an id positioned at this instant: resuming after it
            // replays whatever was stored later.
            deps.logger?.warn(
              { sessionId, streamId, err: (err as Error).message },
              'event store unreachable: message delivered without resumability',
            );
            position = `${Date.now()}-0`;
          }
          return formatEventId(streamId, position);
        },
        async getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
          return parseEventId(eventId)?.streamId;
        },
        async replayEventsAfter(lastEventId, { send }): Promise<StreamId> {
          const parsed = parseEventId(lastEventId);
          if (!parsed) throw new InvalidEventIdError();
          const key = keys.sessionEventStream(sessionId, parsed.streamId);
          // A request's stream may be resumed here while the request still runs on the node
          // that received it. This node cannot take over that stream (the SDK closes a resumed
          // request stream it does not own once this returns), so it follows the stored events
          // until the response is among them, or until the follow window ends and the client
          // resumes again. The standalone GET stream needs no following: it lives on here.
          const follow = parsed.streamId !== STANDALONE_STREAM_ID;
          const deadline = Date.now() + RESUME_FOLLOW_MS;
          let position = parsed.position;
          for (;;) {
            const entries = await redis.xrange(key, `(${position}`, '+', 'COUNT', limits.maxEventsPerStream);
            let answered = false;
            for (const [entryPosition, fields] of entries) {
              position = entryPosition;
              const message = JSON.parse(fields[1] ?? '{}') as JSONRPCMessage;
              if (!isReplayable(message)) continue;
              await send(formatEventId(parsed.streamId, entryPosition), message);
              answered ||= 'result' in message || 'error' in message;
            }
            if (!follow || answered || Date.now() >= deadline) break;
            await sleep(RESUME_POLL_MS);
          }
          return parsed.streamId;
        },
      };
    },
  };
}
