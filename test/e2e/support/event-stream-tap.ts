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
  /** The id of the priming event (no data) the stream opened with: where it starts in the event log. */
  primingId?: string;
  /** Ids of the events that carried a message, in arrival order… */
  eventIds: string[];
  /** …when each arrived… */
  eventTimes: number[];
  /** …and the JSON-RPC method each carried (or 'response'). */
  eventMethods: string[];
}

/** The SDK's id for the standalone GET stream of a 2025-era session. */
const STANDALONE_STREAM_ID = '_GET_stream';

/**
 * Wraps a client's fetch so that every standalone GET event stream it opens is recorded in `streams`.
 * In the 2025 era that stream carries the notifications; the client first opens it, then
 * resumes it with Last-Event-ID (`_GET_stream_…`) after a break.
 */
export function tapEventStreams(inner: typeof fetch, streams: TappedStream[]): typeof fetch {
  return async (input, init) => {
    const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
    if (method.toUpperCase() !== 'GET') return inner(input, init);
    const headers = new Headers(init?.headers);
    // A GET with the Last-Event-ID of a request's stream resumes that request (it carries the
    // response, maybe from another node); only the standalone stream carries notifications.
    const resumes = headers.get('last-event-id');
    if (resumes !== null && !resumes.startsWith(`${STANDALONE_STREAM_ID}_`)) return inner(input, init);
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
        if (id && data === '' && tapped.eventIds.length === 0) tapped.primingId ??= id;
        if (id && data !== '') {
          tapped.eventIds.push(id);
          tapped.eventTimes.push(performance.now());
          tapped.eventMethods.push((JSON.parse(data) as { method?: string }).method ?? 'response');
        }
      }
    },
  });
}
