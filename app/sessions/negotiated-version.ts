import { LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/server';

/**
 * The version a 2025-era or 2024 session runs, as the SDK server negotiates it from the client's
 * `initialize`: the client's if supported, else the latest. Recorded when the session is created,
 * so no second write is needed once the server has answered.
 */
export function negotiatedVersion(initializeParams: Record<string, unknown>): string {
  const requested = initializeParams.protocolVersion;
  return typeof requested === 'string' && SUPPORTED_PROTOCOL_VERSIONS.includes(requested)
    ? requested
    : LATEST_PROTOCOL_VERSION;
}
