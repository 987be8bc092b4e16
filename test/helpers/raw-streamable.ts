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

export async function initialize(baseUrl: string): Promise<string> {
  const response = await fetch(new URL('/mcp', baseUrl), {
    method: 'POST',
    headers: headers(),
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: PROTOCOL,
        capabilities: {},
        clientInfo: { name: 'raw-resumer', version: '1' },
      },
    }),
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
