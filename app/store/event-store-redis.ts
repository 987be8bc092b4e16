import { setTimeout as sleep } from 'node:timers/promises';
import type { EventId, JSONRPCMessage, StreamId } from '@modelcontextprotocol/server';
import { JsonRpcCode } from '../errors.js';
import type { Logger } from '../logger.js';
import {
  type EventStoreLimits,
  encodeOrigin,
  formatEventId,
  InvalidEventIdError,
  isReplayable,
  isValidStreamId,
  parseEventId,
  type SessionEventStore,
  type SessionEventStores,
} from './event-store.js';
import type { Keys } from './keys.js';
import type { RedisClient } from './redis-connection.js';
import { classifyRedisError, isOutage } from './redis-errors.js';
import { defineScripts, fieldsOf } from './redis-store.js';

/** How long a resumed request stream follows a call still running on another node. */
const RESUME_FOLLOW_MS = 30_000;
const RESUME_POLL_MS = 100;
/**
 * How long a resumed request stream waits for the first stored event of its request. A call whose
 * node died before it stored anything (the client saw only the priming event) would otherwise hold
 * its client for the whole follow window; a live call stores its progress and answer within this.
 */
const RESUME_FIRST_EVENT_MS = 2_000;
/** How often a resumed request stream checks that the node running its request is still alive. */
const WRITER_CHECK_MS = 1_000;
/** The position before any entry of a Redis Stream. */
const STREAM_START = '0-0';

/**
 * Resumable request streams on Redis Streams, so that a client whose POST's stream broke can
 * resume it with `Last-Event-ID` on any node. (The standalone GET stream is not stored here: it
 * carries the shared event log, app/sessions/get-streams.ts.)
 *
 * All the streams of a session share one Redis Stream (`session:{id}:events`), whose entries name
 * their stream: one key per session, not per call, so Redis keeps one listpack per session
 * (a stream key costs about 4.5 KiB before its first entry is stored). Each append caps the Stream,
 * drops entries older than the TTL and slides the TTL, in one script on one key (one hash slot).
 *
 * A POST's stream has one writer, the node running the request, so its event ids are minted here
 * (`0-<n>`, from a counter per session instance), and its response is written to the client
 * without waiting for its append (see storeEvent). A client that resumes on another node before the
 * append lands is followed until the response is stored.
 */
export function createRedisEventStores(deps: {
  redis: RedisClient;
  keys: Keys;
  limits: EventStoreLimits;
  logger?: Logger;
  /**
   * This node process (its relay address, stored with each event) and how to tell whether another
   * is alive: a stream resumed elsewhere stops following a request whose node died.
   */
  writer?: { address: string; isAlive(address: string): Promise<boolean> };
}): SessionEventStores {
  const { redis, keys, limits } = deps;
  const scripts = defineScripts(redis, { appendEvent: 'append-event-1.lua' });
  const append = (sessionId: string, streamId: string, position: string, message: JSONRPCMessage) =>
    scripts.appendEvent(
      keys.sessionEvents(sessionId),
      limits.maxEventsPerStream,
      limits.ttlSeconds,
      streamId,
      position,
      JSON.stringify(message),
      deps.writer?.address ?? '',
    ) as Promise<string>;
  const unstored = (sessionId: string, streamId: string, err: unknown) => {
    if (!isOutage(classifyRedisError(err))) {
      deps.logger?.error({ sessionId, streamId, err: (err as Error).message }, 'redis refused an event');
      return;
    }
    deps.logger?.warn(
      { sessionId, streamId, err: (err as Error).message },
      'event store unreachable: message delivered without resumability',
    );
  };

  return {
    forSession(
      sessionId: string,
      requestIdsOf?: (streamId: string) => (string | number)[],
    ): SessionEventStore {
      /** The last position minted for this session's POST streams on this instance. */
      let sequence = 0;
      /** The origin of each open request stream of this instance, carried by its event ids. */
      const origins = new Map<StreamId, { encoded: string; unanswered: number }>();
      const originOf = (streamId: StreamId, message: JSONRPCMessage) => {
        const origin = origins.get(streamId);
        if (origin && isResponse(message) && --origin.unanswered <= 0) origins.delete(streamId);
        return origin?.encoded;
      };
      return {
        async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
          if (!isValidStreamId(streamId))
            throw new Error(`refusing to store events for stream id ${streamId}`);
          // The SDK writes a priming event (`{}`, nothing to replay) first on each new stream, only
          // to hand the client an id to resume from. The start of the stream is that id, and it
          // names the stream's origin: this process and the requests it runs.
          if (!isReplayable(message)) {
            const requestIds = requestIdsOf?.(streamId) ?? [];
            const encoded =
              requestIds.length > 0 && deps.writer
                ? encodeOrigin({ writer: deps.writer.address, requestIds })
                : undefined;
            if (encoded) origins.set(streamId, { encoded, unanswered: requestIds.length });
            return formatEventId(streamId, STREAM_START, encoded);
          }
          const position = `0-${++sequence}`;
          const origin = originOf(streamId, message);
          // Redis unreachable or failing over: the message is still delivered live, unstored (the
          // SDK transport would send nothing if this threw, and the client would wait forever).
          const appended = append(sessionId, streamId, position, message).catch((err: unknown) =>
            unstored(sessionId, streamId, err),
          );
          // Only the response, which ends the stream, is written before its append lands: that is
          // the one message every call has. Messages before it (progress, server requests) wait
          // for theirs: without that wait, a stream cut by a proxy and resumed on the same node got
          // 409 "Stream already has an active connection" (test/e2e/ingress-roll.test.ts, 3 runs of
          // 4), a race in the SDK transport not understood yet.
          if (!isResponse(message)) await appended;
          return formatEventId(streamId, position, origin);
        },
        async getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
          return parseEventId(eventId)?.streamId;
        },
        async replayEventsAfter(lastEventId, { send, signal }): Promise<StreamId> {
          const parsed = parseEventId(lastEventId);
          if (!parsed) throw new InvalidEventIdError();
          const { streamId, origin, encodedOrigin } = parsed;
          const key = keys.sessionEvents(sessionId);
          // Positions are the stream's own sequence: read the session's Stream (capped) and keep
          // that stream's later entries.
          const after = parsed.position;
          // A request's stream may be resumed here while the request still runs on the node
          // that received it. This node cannot take over that stream (the SDK closes a resumed
          // request stream it does not own once this returns), so it follows the stored events
          // until every request of the stream is answered, or until the follow window ends and the
          // client resumes again.
          const startedAt = Date.now();
          const deadline = startedAt + RESUME_FOLLOW_MS;
          const unanswered = new Set<string | number>(origin?.requestIds);
          let storedAny = false;
          let cursor = '-';
          let last = after;
          let writer = origin?.writer;
          let writerCheckedAt = startedAt;
          for (;;) {
            const entries = await redis.xrange(key, cursor, '+', 'COUNT', limits.maxEventsPerStream);
            let answered = false;
            for (const [entryId, fields] of entries) {
              cursor = `(${entryId}`;
              const entry = fieldsOf(fields);
              if (entry.s !== streamId) continue;
              storedAny = true;
              writer = entry.w || writer;
              const position = entry.n ?? STREAM_START;
              const message = JSON.parse(entry.m ?? '{}') as JSONRPCMessage;
              if (!isReplayable(message)) continue;
              // A response the client already has still counts as an answer.
              if (isResponse(message)) {
                unanswered.delete((message as { id: string | number }).id);
                answered ||= unanswered.size === 0;
              }
              if (!isAfter(position, after)) continue;
              last = position;
              await send(formatEventId(streamId, position, encodedOrigin), message);
            }
            if (answered || signal?.aborted) break;
            if (entries.length === limits.maxEventsPerStream) continue; // more to read at once
            if (Date.now() >= deadline) break;
            // Without an origin (an id from before origins were carried) nothing says whom to
            // ask: a request that stored nothing yet is given up on early.
            if (!origin && !storedAny && Date.now() >= startedAt + RESUME_FIRST_EVENT_MS) break;
            // The node running the request died (kill -9, a crash): its answers will never be
            // stored. Answer its requests with an error, so the client's calls fail rather than
            // wait for their timeouts; without an origin, end here and let the client resume.
            if (writer && deps.writer && Date.now() - writerCheckedAt >= WRITER_CHECK_MS) {
              writerCheckedAt = Date.now();
              if (writer !== deps.writer.address && !(await deps.writer.isAlive(writer))) {
                deps.logger?.info(
                  { sessionId, streamId, unanswered: unanswered.size },
                  'stopped following a request whose node is gone',
                );
                for (const id of unanswered) {
                  last = nextPosition(last);
                  await send(formatEventId(streamId, last, encodedOrigin), writerGoneError(id));
                }
                break;
              }
            }
            await sleep(RESUME_POLL_MS);
          }
          return streamId;
        },
      };
    },
  };
}

/** The answer to a request whose node died before answering it. */
function writerGoneError(id: string | number): JSONRPCMessage {
  return {
    jsonrpc: '2.0',
    id,
    error: {
      code: JsonRpcCode.InternalError,
      message:
        'Internal error: the server node running this request stopped before answering it; it may or may not have run',
      data: { reason: 'node_gone' },
    },
  };
}

/** The position after `position` in a request stream (`0-<n>`: one writer, one counter). */
function nextPosition(position: string): string {
  const [ms, seq] = position.split('-').map(BigInt) as [bigint, bigint];
  return `${ms}-${seq + 1n}`;
}

function isResponse(message: JSONRPCMessage): boolean {
  return 'result' in message || 'error' in message;
}

/** Compares two `<ms>-<seq>` positions. */
function isAfter(position: string, than: string): boolean {
  const [ms, seq] = position.split('-').map(BigInt) as [bigint, bigint];
  const [thanMs, thanSeq] = than.split('-').map(BigInt) as [bigint, bigint];
  return ms > thanMs || (ms === thanMs && seq > thanSeq);
}
