import { connectLegacyClient, connectModernClient, textOf } from '../../helpers/clients.js';

/** The MCP eras a fault scenario drives, each with the real client deployed apps use. */
export type EraName = '2026-07-28' | '2025 Streamable HTTP';

/** One connected client, reduced to what a load loop needs. */
export interface EraClient {
  era: EraName;
  name: string;
  /** Calls `echo` and resolves with the echoed text. Rejects on any error the client reports. */
  echo(text: string, timeoutMs: number): Promise<string>;
  /** The 2025-era session id (stable for as long as the session lives); undefined in 2026. */
  sessionId(): string | undefined;
  close(): Promise<void>;
}

export async function connectEraClient(era: EraName, baseUrl: string, name: string): Promise<EraClient> {
  const target = () => baseUrl;
  if (era === '2026-07-28') {
    const { client } = await connectModernClient(target, name);
    return {
      era,
      name,
      echo: async (text, timeout) =>
        textOf(await client.callTool({ name: 'echo', arguments: { text } }, { timeout })),
      sessionId: () => undefined,
      close: () => client.close(),
    };
  }
  const { client, sessionId } = await connectLegacyClient(target, name);
  return {
    era,
    name,
    echo: async (text, timeout) =>
      textOf(await client.callTool({ name: 'echo', arguments: { text } }, undefined, { timeout })),
    sessionId,
    close: () => client.close(),
  };
}
