import {
  Client as ModernClient,
  StreamableHTTPClientTransport as ModernTransport,
} from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

/**
 * Routes a client's requests to whichever node `target()` names at the moment, the way a load
 * balancer would move a client between nodes. The client itself never knows.
 */
export function routedFetch(target: () => string): typeof fetch {
  return (input, init) => {
    const original = new URL(input instanceof Request ? input.url : String(input));
    const node = new URL(target());
    original.protocol = node.protocol;
    original.host = node.host;
    return fetch(original, init);
  };
}

/** A real 2025-era client: the v1 SDK's Streamable HTTP transport, as deployed apps use it. */
export async function connectLegacyClient(target: () => string, name = 'legacy-test-client') {
  const transport = new V1Transport(new URL('/mcp', target()), { fetch: routedFetch(target) });
  const client = new V1Client({ name, version: '1.0.0' });
  await client.connect(transport);
  return { client, transport, sessionId: () => transport.sessionId };
}

/** A real 2026-07-28 client: the v2 SDK client with automatic version negotiation. */
export async function connectModernClient(target: () => string, name = 'modern-test-client') {
  const transport = new ModernTransport(new URL('/mcp', target()), { fetch: routedFetch(target) });
  const client = new ModernClient({ name, version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
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
