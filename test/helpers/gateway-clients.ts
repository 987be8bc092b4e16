import {
  Client as ModernClient,
  StreamableHTTPClientTransport as ModernTransport,
} from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { routedFetch } from './clients.js';
import { waitFor } from './ports.js';

/**
 * Real MCP clients pointed at an upstream behind the gateway, `${base}/servers/<upstream>/<path>`,
 * exactly as a user configures one: the URL, and the gateway's own credential (`token`).
 */
export interface GatewayTarget {
  base: string;
  upstream: string;
  token?: string;
}

function urlOf(target: GatewayTarget, path: string): URL {
  return new URL(`/servers/${target.upstream}/${path}`, target.base);
}

/** The v1 SDK's Streamable HTTP client (2025 era), as deployed apps use it. */
export async function connectV1(target: GatewayTarget, path = 'mcp') {
  const transport = new V1Transport(urlOf(target, path), {
    fetch: routedFetch(() => target.base, target.token),
  });
  const client = new V1Client({ name: 'gateway-v1-client', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

/** The v2 SDK client with automatic version negotiation. */
export async function connectV2(target: GatewayTarget, path = 'mcp') {
  const transport = new ModernTransport(urlOf(target, path), {
    fetch: routedFetch(() => target.base, target.token),
  });
  const client = new ModernClient(
    { name: 'gateway-v2-client', version: '1.0.0' },
    { versionNegotiation: { mode: 'auto' } },
  );
  await client.connect(transport);
  return { client, transport };
}

/** The v1 SDK's 2024-11-05 HTTP+SSE client. */
export async function connectSse(target: GatewayTarget, path = 'sse') {
  const transport = new SSEClientTransport(urlOf(target, path), {
    fetch: routedFetch(() => target.base, target.token),
  });
  const client = new V1Client({ name: 'gateway-sse-client', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

/** `fetch` with the gateway credential, for requests no SDK client would send. */
export function gatewayFetch(target: GatewayTarget, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (target.token) headers.set('authorization', `Bearer ${target.token}`);
  return fetch(`${target.base}/servers/${target.upstream}/${path}`, { ...init, headers });
}

/** The headers an MCP POST carries. */
export const MCP_POST_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
};

/**
 * A 2024-11-05 event stream opened by hand, to see what the gateway sends on the wire: the
 * `endpoint` it announced, the events after it, and when the stream ends.
 */
export async function openRawSse(target: GatewayTarget, path = 'sse') {
  const controller = new AbortController();
  const response = await gatewayFetch(target, path, {
    headers: { accept: 'text/event-stream' },
    signal: controller.signal,
  });
  if (!response.ok || !response.body) throw new Error(`GET ${path} answered ${response.status}`);
  const events: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => events.push(event) });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  /** 'ended' when the gateway closed the stream cleanly, 'broken' when it was cut. */
  const ended = (async (): Promise<'ended' | 'broken'> => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return 'ended';
      parser.feed(value);
    }
  })().catch(() => 'broken' as const);
  const endpoint = await waitFor(
    'the endpoint event',
    () => events.find((e) => e.event === 'endpoint')?.data,
  );
  return { endpoint, events, ended, close: () => controller.abort() };
}
