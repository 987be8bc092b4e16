import {
  Client as ModernClient,
  StreamableHTTPClientTransport as ModernTransport,
} from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { ClientCapabilities as V1ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';

/**
 * Routes a client's requests to whichever node `target()` names at the moment, the way a load
 * balancer would move a client between nodes. The client itself never knows.
 */
export function routedFetch(target: () => string, token?: string): typeof fetch {
  return (input, init) => {
    const original = new URL(input instanceof Request ? input.url : String(input));
    const node = new URL(target());
    original.protocol = node.protocol;
    original.host = node.host;
    if (token === undefined) return fetch(original, init);
    // A bearer credential (API key or OAuth access token), as a configured client sends it.
    const headers = new Headers(init?.headers);
    headers.set('authorization', `Bearer ${token}`);
    return fetch(original, { ...init, headers });
  };
}

/** A real 2025-era client: the v1 SDK's Streamable HTTP transport, as deployed apps use it. */
export async function connectLegacyClient(
  target: () => string,
  name = 'legacy-test-client',
  options: {
    capabilities?: V1ClientCapabilities;
    token?: string;
    /** Wraps the routed fetch, e.g. to observe the event streams the client receives. */
    wrapFetch?: (routed: typeof fetch) => typeof fetch;
    path?: string;
  } = {},
) {
  const routed = routedFetch(target, options.token);
  const transport = new V1Transport(new URL(options.path ?? '/mcp', target()), {
    fetch: options.wrapFetch ? options.wrapFetch(routed) : routed,
  });
  const client = new V1Client({ name, version: '1.0.0' }, { capabilities: options.capabilities });
  await client.connect(transport);
  return { client, transport, sessionId: () => transport.sessionId };
}

/**
 * A real 2024-11-05 client: the v1 SDK's SSE transport. `path` may carry `?sessionId=` to resume
 * a session; pass a client to reconnect it.
 */
export async function connectSseClient(
  target: () => string,
  options: {
    path?: string;
    client?: V1Client;
    name?: string;
    token?: string;
    /** Wraps the routed fetch, e.g. to see which POSTs are still waiting for an answer. */
    wrapFetch?: (routed: typeof fetch) => typeof fetch;
  } = {},
) {
  const routed = routedFetch(target, options.token);
  const transport = new SSEClientTransport(new URL(options.path ?? '/sse', target()), {
    fetch: options.wrapFetch ? options.wrapFetch(routed) : routed,
  });
  const client =
    options.client ?? new V1Client({ name: options.name ?? 'sse-test-client', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

/** A real 2026-07-28 client: the v2 SDK client with automatic version negotiation. */
export async function connectModernClient(
  target: () => string,
  name = 'modern-test-client',
  options: { capabilities?: { elicitation?: { form?: Record<string, never> } }; token?: string } = {},
) {
  const transport = new ModernTransport(new URL('/mcp', target()), {
    fetch: routedFetch(target, options.token),
  });
  const client = new ModernClient(
    { name, version: '1.0.0' },
    { versionNegotiation: { mode: 'auto' }, capabilities: options.capabilities },
  );
  await client.connect(transport);
  return { client, transport };
}

export function textOf(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content.map((c) => c.text ?? '').join('');
}

export function structuredOf<T = Record<string, unknown>>(result: unknown): T {
  return (result as { structuredContent: T }).structuredContent;
}

/**
 * One real client of each era on `target` with the same bearer token, in order 2026, 2025 and
 * 2024-11-05, named `<name>-2026`, `<name>-2025` and `<name>-2024`: for what every era must see alike.
 */
export async function connectEveryEra(target: () => string, name: string, token: string) {
  return [
    (await connectModernClient(target, `${name}-2026`, { token })).client,
    (await connectLegacyClient(target, `${name}-2025`, { token })).client,
    (await connectSseClient(target, { name: `${name}-2024`, token })).client,
  ];
}
