/**
 * What one GET event stream carried to the client, seen on the wire: which event ids arrived,
 * whether the client resumed with Last-Event-ID, and when the stream opened. The real
 * client still reads every byte; the tap only watches them go by.
 */
export interface TappedStream {
  /** The Last-Event-ID the client sent: set when it resumed a broken stream. */
  lastEventIdSent: string | undefined;
  requestedAt: number;
  /** The same instant on the wall clock, which Redis stream positions (hence event ids) use. */
  requestedAtWallMs: number;
  status?: number;
  /** When the response headers arrived (the stream was open and registered on a node). */
  openedAt?: number;
  /** Ids of the events that carried a message, in arrival order… */
  eventIds: string[];
  /** …when each arrived… */
  eventTimes: number[];
  /** …and the JSON-RPC method each carried (or 'response'). */
  eventMethods: string[];
}

/**
 * Wraps a client's fetch so that every GET event stream it opens is recorded in `streams`.
 * Only GETs are watched: in the 2025 era they are the standalone streams that carry
 * notifications, and the ones a client resumes with Last-Event-ID.
 */
export function tapEventStreams(inner: typeof fetch, streams: TappedStream[]): typeof fetch {
  return async (input, init) => {
    const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
    if (method.toUpperCase() !== 'GET') return inner(input, init);
    const headers = new Headers(init?.headers);
    const tapped: TappedStream = {
      lastEventIdSent: headers.get('last-event-id') ?? undefined,
      requestedAt: performance.now(),
      requestedAtWallMs: Date.now(),
      eventIds: [],
      eventTimes: [],
      eventMethods: [],
    };
    streams.push(tapped);
    const response = await inner(input, init);
    tapped.status = response.status;
    tapped.openedAt = performance.now();
    if (!response.ok || !response.body) return response;
    return new Response(response.body.pipeThrough(watchEvents(tapped)), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

/** Passes every chunk on unchanged, and notes the id of each complete event that has data. */
function watchEvents(tapped: TappedStream): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  let buffer = '';
  return new TransformStream({
    transform(chunk, controller) {
      controller.enqueue(chunk);
      buffer += decoder.decode(chunk, { stream: true }).replace(/\r\n?/g, '\n');
      for (let cut = buffer.indexOf('\n\n'); cut >= 0; cut = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const lines = block.split('\n');
        const id = lines
          .find((line) => line.startsWith('id:'))
          ?.slice(3)
          .trim();
        const data = lines
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(5).trim())
          .join('');
        if (id && data !== '') {
          tapped.eventIds.push(id);
          tapped.eventTimes.push(performance.now());
          tapped.eventMethods.push((JSON.parse(data) as { method?: string }).method ?? 'response');
        }
      }
    },
  });
}
