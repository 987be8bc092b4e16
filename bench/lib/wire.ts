import {
  Client as ModernClient,
  StreamableHTTPClientTransport as ModernTransport,
} from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { BENCH_AUTH_HEADERS } from './servers.js';

/**
 * What real clients put on the wire, recorded once per run and then replayed by the load
 * generator. Replaying a recording (rather than hand-written JSON) keeps the bench honest when
 * an SDK changes its headers or its `_meta` envelope.
 */
export interface RecordedRequest {
  method: string;
  headers: Record<string, string>;
  body: string;
}

export interface ClientRecording {
  /** 2025 era only: the `initialize` and `notifications/initialized` that open a session. */
  initialize?: RecordedRequest;
  initialized?: RecordedRequest;
  /** A `tools/call echo` exactly as the client sent it. */
  toolCall: RecordedRequest;
}

export type Era = '2025' | '2026';

const ECHO_TEXT = 'hello from the benchmark';

export async function recordClient(era: Era, mcpUrl: string): Promise<ClientRecording> {
  const seen: RecordedRequest[] = [];
  // The client authenticates as a configured client would (our nodes require an API key; the
  // baseline ignores it), so every replayed request carries the credential.
  const recording: typeof fetch = (input, init) => {
    const headers = new Headers(init?.headers);
    for (const [name, value] of Object.entries(BENCH_AUTH_HEADERS)) headers.set(name, value);
    if (init?.method === 'POST' && typeof init.body === 'string') {
      seen.push({ method: 'POST', headers: Object.fromEntries(headers.entries()), body: init.body });
    }
    return fetch(input, { ...init, headers });
  };
  const url = new URL(mcpUrl);
  if (era === '2025') {
    const client = new V1Client({ name: 'mcp-fleet-bench', version: '1.0.0' });
    await client.connect(new V1Transport(url, { fetch: recording }));
    await client.callTool({ name: 'echo', arguments: { text: ECHO_TEXT } });
    await client.close();
  } else {
    const client = new ModernClient(
      { name: 'mcp-fleet-bench', version: '1.0.0' },
      { versionNegotiation: { mode: 'auto' } },
    );
    await client.connect(new ModernTransport(url, { fetch: recording }));
    await client.callTool({ name: 'echo', arguments: { text: ECHO_TEXT } });
    await client.close();
  }
  const byMethod = (method: string) => seen.find((r) => JSON.parse(r.body).method === method);
  const toolCall = byMethod('tools/call');
  if (!toolCall) throw new Error(`the ${era} client sent no tools/call; cannot build the load`);
  return { initialize: byMethod('initialize'), initialized: byMethod('notifications/initialized'), toolCall };
}

/** A request with its JSON-RPC id swapped for autocannon's per-request `[<id>]` placeholder. */
export function withIdPlaceholder(request: RecordedRequest, sessionId?: string): RecordedRequest {
  const message = JSON.parse(request.body) as Record<string, unknown>;
  message.id = '[<id>]';
  const headers = { ...request.headers };
  delete headers['mcp-session-id'];
  if (sessionId) headers['mcp-session-id'] = sessionId;
  return { method: request.method, headers, body: JSON.stringify(message) };
}

/** Sends one recorded request, with a fresh id, and returns the JSON-RPC message it answered. */
export async function send(
  mcpUrl: string,
  request: RecordedRequest,
  sessionId?: string,
): Promise<{ status: number; sessionId: string | null; message: Record<string, unknown> | undefined }> {
  const message = JSON.parse(request.body) as Record<string, unknown>;
  if ('id' in message) message.id = `bench-${Math.random().toString(36).slice(2)}`;
  const headers = { ...request.headers };
  delete headers['mcp-session-id'];
  if (sessionId) headers['mcp-session-id'] = sessionId;
  const response = await fetch(mcpUrl, { method: 'POST', headers, body: JSON.stringify(message) });
  const text = await response.text();
  return {
    status: response.status,
    sessionId: response.headers.get('mcp-session-id'),
    message: parseJsonRpc(text, response.headers.get('content-type') ?? ''),
  };
}

/** The JSON-RPC message in a JSON body or in the first `data:` line of an SSE body. */
export function parseJsonRpc(text: string, contentType: string): Record<string, unknown> | undefined {
  if (!text) return undefined;
  if (contentType.includes('text/event-stream')) {
    const data = text.split('\n').find((line) => line.startsWith('data:') && line.length > 6);
    return data ? (JSON.parse(data.slice(5)) as Record<string, unknown>) : undefined;
  }
  return JSON.parse(text) as Record<string, unknown>;
}

/** Opens a 2025-era session the way the recorded client did: `initialize`, then `initialized`. */
export async function openSession(mcpUrl: string, recording: ClientRecording): Promise<string> {
  if (!recording.initialize || !recording.initialized) throw new Error('not a 2025-era recording');
  const init = await send(mcpUrl, recording.initialize);
  if (init.status !== 200 || !init.sessionId) throw new Error(`initialize answered ${init.status}`);
  const initialized = await send(mcpUrl, recording.initialized, init.sessionId);
  if (initialized.status !== 202) throw new Error(`notifications/initialized answered ${initialized.status}`);
  return init.sessionId;
}

/** Opens `count` sessions, `concurrency` at a time. */
export async function openSessions(
  mcpUrl: string,
  recording: ClientRecording,
  count: number,
  concurrency = 16,
): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      ids.push(await openSession(mcpUrl, recording));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return ids;
}

/** Calls echo once and fails loudly unless the answer is the echoed text: the load is only valid if this is. */
export async function assertEchoWorks(mcpUrl: string, recording: ClientRecording, sessionId?: string) {
  const reply = await send(mcpUrl, recording.toolCall, sessionId);
  const result = reply.message?.result as { content?: { text?: string }[] } | undefined;
  if (reply.status !== 200 || result?.content?.[0]?.text !== ECHO_TEXT) {
    throw new Error(
      `echo did not answer correctly at ${mcpUrl}: ${reply.status} ${JSON.stringify(reply.message)}`,
    );
  }
}

/** Milliseconds for one echo call, measured from the client side. */
export async function timedEcho(
  mcpUrl: string,
  recording: ClientRecording,
  sessionId?: string,
): Promise<number> {
  const started = performance.now();
  await assertEchoWorks(mcpUrl, recording, sessionId);
  return performance.now() - started;
}
