import { expect } from 'vitest';

/**
 * A 2025-era client by hand (fetch and an SSE reader), for what the SDK clients hide: event ids,
 * `retry`, and a `Last-Event-ID` sent to a node of the test's choosing.
 */
export const PROTOCOL = '2025-11-25';

export function headers(sessionId?: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': PROTOCOL,
    ...(sessionId ? { 'mcp-session-id': sessionId } : {}),
  };
}

/**
 * The body of a 2025-era initialize request from a client named `clientName`: 2025-06-18 unless
 * `protocolVersion` says otherwise (the session helper below offers PROTOCOL).
 */
export function initializeRequest(clientName: string, protocolVersion = '2025-06-18') {
  return {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion, capabilities: {}, clientInfo: { name: clientName, version: '1' } },
  };
}

/**
 * POSTs a raw initialize to `<baseUrl>/mcp` and returns the response unread: for what a client
 * sees when it is refused, or a session opened without a client that would keep touching it.
 * `headers` add to (or replace) the JSON and event-stream ones; `fetch` sends it another way (through an edge).
 */
export function postInitialize(
  baseUrl: string,
  options: { clientName: string; headers?: Record<string, string>; fetch?: typeof fetch },
): Promise<Response> {
  return (options.fetch ?? fetch)(new URL('/mcp', baseUrl), {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...options.headers,
    },
    body: JSON.stringify(initializeRequest(options.clientName)),
  });
}

/** A 2025 session opened by hand (initialize, then notifications/initialized); returns its id. */
export async function initialize(baseUrl: string): Promise<string> {
  const response = await fetch(new URL('/mcp', baseUrl), {
    method: 'POST',
    headers: headers(),
    body: JSON.stringify(initializeRequest('raw-resumer', PROTOCOL)),
  });
  expect(response.status).toBe(200);
  const sessionId = response.headers.get('mcp-session-id')!;
  await response.text();
  const initialized = await fetch(new URL('/mcp', baseUrl), {
    method: 'POST',
    headers: headers(sessionId),
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  expect(initialized.status).toBe(202);
  return sessionId;
}

export interface SseEvent {
  id?: string;
  retry?: string;
  data: string;
}

/** A minimal SSE reader: comments (keep-alives) are skipped. */
export function readEvents(response: Response) {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  return {
    async next(): Promise<SseEvent> {
      for (;;) {
        const end = buffer.indexOf('\n\n');
        if (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event: SseEvent = { data: '' };
          let fields = 0;
          for (const line of block.split('\n')) {
            const [name, ...rest] = line.split(':');
            const value = rest.join(':').replace(/^ /, '');
            if (name === 'id') event.id = value;
            else if (name === 'retry') event.retry = value;
            else if (name === 'data') event.data += value;
            else continue;
            fields++;
          }
          if (fields > 0) return event;
          continue;
        }
        const { done, value } = await reader.read();
        if (done) throw new Error('stream ended');
        buffer += decoder.decode(value, { stream: true });
      }
    },
  };
}
