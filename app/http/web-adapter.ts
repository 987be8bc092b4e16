import type { IncomingMessage, ServerResponse } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { holdWrites } from './event-stream-headers.js';

/**
 * Serves a web-standard handler (`Request` in, `Response` out: the SDK's transports and
 * `createMcpHandler`) on Node's request and response. `handle` also gets the Node request, for what
 * Express put on it (the parsed body, `auth`, a deferred rate limit).
 *
 * The conversion is `@hono/node-server`'s, the one the SDK's own `NodeStreamableHTTPServerTransport`
 * uses, not the SDK's `toNodeHandler`: that one builds a full undici `Request` per call (every header
 * copied into a `Headers`, the parsed body serialized back to JSON and encoded to count its bytes)
 * and writes the response chunk by chunk through an async iterator. Hono's `Request` reads the Node
 * request lazily, and a response whose body is complete within a few reads leaves in one write with
 * a `Content-Length`. Measured side by side (bench/README.md, item 9), a node spends about 40 % less
 * CPU per 2025-era call with this than with `toNodeHandler`.
 *
 * Event streams: before it writes the headers, the adapter reads what a body has ready, waiting
 * a timer (at least 1 ms) for a second chunk; a stream's call answers a few microtasks after its
 * priming event, so every 2025-era call waited that timer (p50 at one client at a time: 3 ms against
 * 2 ms). An event stream is therefore sent as chunked (`Transfer-Encoding`, which Node would choose
 * for it anyway), which the adapter writes as it comes: it flushes the headers at once, and the
 * socket is held until the end of the tick (event-stream-headers.ts), so that they leave in one
 * write with what the stream has ready by then (the priming event, the id a client resumes from).
 *
 * `overrideGlobalObjects: false` keeps the process's global `Request` and `Response` untouched
 * (the gateway's upstream calls and the SDK use them).
 */
export function serveWebHandler<Req extends IncomingMessage>(
  handle: (request: Request, incoming: Req) => Promise<Response>,
  options: {
    /** A request that could not be turned into a `Request`, or a handler that threw: the answer. */
    onError: (err: unknown) => Response;
  },
): (req: Req, res: ServerResponse) => Promise<void> {
  const listener = getRequestListener(
    async (request, env) => {
      const incoming = env.incoming as Req;
      let response = await handle(request, incoming);
      if (!isEventStream(response)) return response;
      if (incoming.method === 'GET') response = new Response(endingOnError(response.body), response);
      if (incoming.httpVersion === '1.1') response.headers.set('transfer-encoding', 'chunked');
      // The adapter flushes the headers at once (it has read nothing ahead) and writes what the
      // stream has ready a few microtasks later: held until the end of the tick, they leave together.
      holdWrites(env.outgoing as ServerResponse);
      return response;
    },
    {
      overrideGlobalObjects: false,
      // HTTP/1.0 may come without a Host header; Host checks, where configured, ran before this.
      hostname: 'localhost',
      errorHandler: options.onError,
    },
  );
  return listener;
}

/**
 * A GET stream's node cuts it by erroring its body: a client that stopped reading (its queue is
 * dropped at once), a replay that failed (app/sessions/get-streams.ts, resumed-request-stream.ts).
 * Whoever cuts it logs why; the response then ends, and the client resumes from the last event id
 * it read. Hono's adapter would instead print the error with its stack to stderr, outside the JSON
 * log, and reset the connection. (POST streams are the session manager's, which ends them itself.)
 */
function endingOnError(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch {
        controller.close();
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

function isEventStream(response: Response): response is Response & { body: ReadableStream<Uint8Array> } {
  return (
    response.body !== null &&
    !response.headers.has('content-length') &&
    (response.headers.get('content-type')?.startsWith('text/event-stream') ?? false)
  );
}
