import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import type { Logger } from '../logger.js';
import type { SessionEventStore } from '../store/event-store.js';
import { eventStreamResponse, KEEPALIVE, MAX_QUEUED_BYTES, sseMessage } from './get-streams.js';

const encoder = new TextEncoder();

/**
 * A request's stream resumed on a node that is not running the request (its event id's origin
 * names another node process). It needs no server instance: it replays what the running node
 * stored after `Last-Event-ID`, then follows until every request of the stream is answered, its
 * node is gone, its client leaves or the follow window ends (the event store's `replayEventsAfter`).
 *
 * The SDK transport can serve this too, but it sends the headers only once the replay returns: for
 * a call that still runs, the client saw nothing, not even its progress, until the call ended, and
 * no proxy saw a byte for as long (review finding 7). Here the headers and a comment go out at
 * once, each event as it is stored, and a keepalive comment every heartbeat.
 */
export function resumeRequestStream(options: {
  events: SessionEventStore;
  lastEventId: string;
  sessionId: string;
  /** The client's request signal: it aborts when the client leaves. */
  signal: AbortSignal;
  heartbeatMs: number;
  logger: Logger;
  /** Called once when the stream ends, whatever ends it. */
  ended: () => void;
}): Response {
  const { events, lastEventId, sessionId, signal, logger } = options;
  let heartbeat: NodeJS.Timeout | undefined;
  let open = true;
  const end = () => {
    if (!open) return;
    open = false;
    clearInterval(heartbeat);
    options.ended();
  };
  const body = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const close = () => {
          if (!open) return;
          end();
          try {
            controller.close();
          } catch {
            // already closed or errored
          }
        };
        const write = (chunk: Uint8Array) => {
          if (!open) return;
          controller.enqueue(chunk);
          // A client that stops reading: cut it off, it resumes from the last event it read.
          if ((controller.desiredSize ?? 0) <= 0) {
            end();
            controller.error(new Error('resumed stream cut: its client stopped reading'));
          }
        };
        write(encoder.encode(': resumed\n\n'));
        heartbeat = setInterval(() => write(KEEPALIVE), options.heartbeatMs);
        heartbeat.unref();
        const send = async (eventId: string, message: JSONRPCMessage) => write(sseMessage(eventId, message));
        events.replayEventsAfter(lastEventId, { send, signal }).then(close, (err: Error) => {
          logger.warn({ sessionId, err: err.message }, 'a resumed request stream failed');
          close();
        });
      },
      cancel() {
        end();
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: MAX_QUEUED_BYTES }),
  );
  return eventStreamResponse(body, sessionId);
}
