import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { connectLegacyClient, connectModernClient, structuredOf, textOf } from '../../helpers/clients.js';
import { type TappedStream, tapEventStreams } from './event-stream-tap.js';
import { ReconnectingSseClient } from './sse-era-client.js';

/** The MCP eras a fault scenario drives, each with the real client deployed apps use. */
export type EraName = '2026-07-28' | '2025 Streamable HTTP' | '2024-11-05 HTTP+SSE';

export const ALL_ERAS: EraName[] = ['2026-07-28', '2025 Streamable HTTP', '2024-11-05 HTTP+SSE'];

/** One connected client, reduced to what a load loop and a fault scenario need. */
export interface EraClient {
  era: EraName;
  name: string;
  /** Calls `echo` and resolves with the echoed text. Rejects on any error the client reports. */
  echo(text: string, timeoutMs: number): Promise<string>;
  /** Stores a value with `remember` (per session in 2025/2024, per caller in 2026). */
  remember(key: string, value: string): Promise<void>;
  /** The value `recall` returns for the key, or null. */
  recall(key: string): Promise<string | null>;
  /** The session id (stable for as long as the session lives); undefined in 2026, which has none. */
  sessionId(): string | undefined;
  /** How many times the client had to move its event stream to another node (2024 only). */
  reconnects(): number;
  /** When each `notifications/tools/list_changed` arrived (2025 GET stream, 2024 SSE stream). */
  listChangedAt: number[];
  /** The GET event streams the client opened (2025 only; empty otherwise). */
  getStreams: TappedStream[];
  /** The underlying 2024 client, for the scenarios that look at its stream's node. */
  sse?: ReconnectingSseClient;
  /** The negotiated protocol version (2025 only), for requests the test makes beside the client. */
  protocolVersion?: string;
  close(): Promise<void>;
}

export async function connectEraClient(era: EraName, baseUrl: string, name: string): Promise<EraClient> {
  const target = () => baseUrl;
  if (era === '2026-07-28') {
    const { client } = await connectModernClient(target, name);
    const call = (tool: string, args: Record<string, unknown>, timeout = 10_000) =>
      client.callTool({ name: tool, arguments: args }, { timeout });
    return {
      era,
      name,
      ...referenceTools(call),
      sessionId: () => undefined,
      reconnects: () => 0,
      listChangedAt: [],
      getStreams: [],
      close: () => client.close(),
    };
  }
  if (era === '2025 Streamable HTTP') {
    const getStreams: TappedStream[] = [];
    const { client, transport, sessionId } = await connectLegacyClient(target, name, {
      wrapFetch: (routed) => tapEventStreams(routed, getStreams),
    });
    const listChangedAt: number[] = [];
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      listChangedAt.push(performance.now());
    });
    const call = (tool: string, args: Record<string, unknown>, timeout = 10_000) =>
      client.callTool({ name: tool, arguments: args }, undefined, { timeout });
    return {
      era,
      name,
      ...referenceTools(call),
      sessionId,
      reconnects: () => 0,
      listChangedAt,
      getStreams,
      protocolVersion: transport.protocolVersion,
      close: () => client.close(),
    };
  }
  const sse = await ReconnectingSseClient.connect(baseUrl, name);
  const listChangedAt: number[] = [];
  sse.v1.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    listChangedAt.push(performance.now());
  });
  const call = (tool: string, args: Record<string, unknown>, timeout = 10_000) =>
    sse.callTool(tool, args, timeout);
  return {
    era,
    name,
    ...referenceTools(call),
    sessionId: () => sse.sessionId,
    reconnects: () => sse.reconnects.length,
    listChangedAt,
    getStreams: [],
    sse,
    close: () => sse.close(),
  };
}

type ToolCall = (tool: string, args: Record<string, unknown>, timeout?: number) => Promise<unknown>;

/** The reference tools a scenario uses, on top of whichever era's client makes the call. */
function referenceTools(call: ToolCall): Pick<EraClient, 'echo' | 'remember' | 'recall'> {
  return {
    echo: async (text, timeout) => textOf(await call('echo', { text }, timeout)),
    remember: async (key, value) => void (await call('remember', { key, value })),
    recall: async (key) => structuredOf<{ value: string | null }>(await call('recall', { key })).value,
  };
}
