import type { ServerResponse } from 'node:http';

/**
 * Sends an event stream's headers now, in the same write as whatever the stream has ready by then:
 * the socket stays corked until `release` runs its callback (by default at the end of this tick).
 *
 * Headers must not wait for the first event, which may be a heartbeat 15 s away: a client whose
 * node dies before it sees a response never reconnects. But they must not go out alone either. A
 * POST's stream opens with its priming event (the id a 2025-era client resumes from), and the call
 * runs on in the same tick; flushed alone, the headers went out first and the priming event only
 * with the call's answer (0.7 ms later at p50 on a quiet node). A node killed in that window (a
 * client under CPU load had held the headers alone for 170 ms when it happened) left the client
 * with a stream it could not resume and a call that waited out its timeout
 * (test/e2e/cluster-faults.test.ts, kill -9; test/app/event-stream-headers.test.ts).
 *
 * The end of the tick is soon enough for the SDK's streams, whose first event is queued before the
 * response is returned, and it holds the answer no longer than Node's own cork of a write does. A
 * piped stream writes its first chunk a tick later: the gateway passes `setImmediate`. `/mcp`'s web
 * adapter flushes the headers itself and only needs the hold (`holdWrites`).
 */
export function sendEventStreamHeaders(
  res: ServerResponse,
  release: (uncork: () => void) => unknown = process.nextTick,
): void {
  holdWrites(res, release);
  res.flushHeaders();
}

/**
 * Holds what is written to the response's socket until `release` runs its callback, to leave in
 * one write: for a writer that flushes the headers itself (the web adapter, web-adapter.ts).
 */
export function holdWrites(
  res: ServerResponse,
  release: (uncork: () => void) => unknown = process.nextTick,
): void {
  const socket = res.socket;
  socket?.cork();
  release(() => socket?.uncork());
}
