import { Transform, type TransformCallback } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createParser, type EventSourceMessage, type EventSourceParser } from 'eventsource-parser';

/** An SSE event larger than this is no MCP message; it ends the stream instead of growing a buffer. */
const MAX_EVENT_CHARS = 8 * 1024 * 1024;

/** The query parameters that carry a 2024-transport session: TypeScript SDK, Python SDK. */
export const SSE_SESSION_PARAMS = ['sessionId', 'session_id'] as const;

/**
 * The event stream of a 2024-11-05 HTTP+SSE upstream, passed on with its `endpoint` event
 * rewritten by `rewriteEndpoint` (the gateway's path, the session pinned). Every other event,
 * comment and `retry` goes through unchanged in meaning.
 *
 * The stream is parsed with eventsource-parser (already in the tree through the MCP SDKs) and
 * written again event by event, because the endpoint event may arrive split across chunks.
 */
export class SseEndpointRewriter extends Transform {
  private readonly decoder = new StringDecoder('utf8');
  private readonly parser: EventSourceParser;
  private out: string[] = [];
  private failure: Error | undefined;

  constructor(private readonly rewriteEndpoint: (data: string) => string | undefined) {
    super();
    this.parser = createParser({
      maxBufferSize: MAX_EVENT_CHARS,
      onEvent: (event) => this.out.push(serialize(this.rewrite(event))),
      onRetry: (ms) => this.out.push(`retry: ${ms}\n\n`),
      onComment: (comment) => this.out.push(`:${comment}\n\n`),
      onError: (err) => {
        // Unknown fields are ignored, as an EventSource would; only a runaway event ends the stream.
        if (err.type === 'max-buffer-size-exceeded') this.failure = err;
      },
    });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.parser.feed(this.decoder.write(chunk));
    this.flushOut();
    callback(this.failure);
  }

  override _flush(callback: TransformCallback): void {
    this.parser.feed(this.decoder.end());
    this.flushOut();
    callback(this.failure);
  }

  private rewrite(event: EventSourceMessage): EventSourceMessage {
    if (event.event !== 'endpoint') return event;
    const data = this.rewriteEndpoint(event.data);
    if (data === undefined) {
      this.failure = new Error(`the upstream announced an endpoint the gateway cannot route: ${event.data}`);
      return event;
    }
    return { ...event, data };
  }

  private flushOut(): void {
    if (this.out.length === 0 || this.failure) return;
    this.push(this.out.join(''));
    this.out = [];
  }
}

function serialize(event: EventSourceMessage): string {
  let text = '';
  if (event.id !== undefined) text += `id: ${event.id}\n`;
  if (event.event !== undefined) text += `event: ${event.event}\n`;
  for (const line of event.data.split('\n')) text += `data: ${line}\n`;
  return `${text}\n`;
}
