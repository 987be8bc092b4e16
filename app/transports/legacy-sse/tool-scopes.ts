import {
  type AuthInfo,
  bearerAuthChallengeResponse,
  isJSONRPCRequest,
  type JSONRPCMessage,
  OAuthError,
  OAuthErrorCode,
  requireScopes,
} from '@modelcontextprotocol/server';
import { JsonRpcCode } from '../../errors.js';
import type { Refusal } from './legacy-sse-sessions.js';

/**
 * OAUTH_TOOL_SCOPES on the 2024-11-05 transport.
 *
 * The SDK checks per-tool scopes through a transport's scope-challenge hook, answered on the HTTP
 * request that carries the call. The 2025 and 2026 transports have that hook; this one cannot use
 * it, since its answers travel down the event stream, maybe from another node, after the POST was
 * answered. Without this check a 2024 client would call any tool whatever its token's scopes.
 * So the POST that carries a `tools/call` is checked before it is delivered or relayed, with the
 * SDK's own `requireScopes`, and refused with the same 403 `insufficient_scope` challenge.
 */
export async function toolScopeRefusal(
  messages: JSONRPCMessage[],
  authInfo: AuthInfo | undefined,
  toolScopes: Record<string, string[]>,
): Promise<Refusal | undefined> {
  for (const message of messages) {
    if (!isJSONRPCRequest(message) || message.method !== 'tools/call') continue;
    const tool = (message.params as { name?: unknown } | undefined)?.name;
    const [first, ...rest] = typeof tool === 'string' ? (toolScopes[tool] ?? []) : [];
    if (first === undefined) continue;
    const challenge = await requireScopes(
      first,
      ...rest,
    )({ request: message, ...(authInfo ? { authInfo } : {}) });
    if (challenge === undefined) continue;
    const response = bearerAuthChallengeResponse(
      new OAuthError(OAuthErrorCode.InsufficientScope, 'Insufficient scope'),
      { requiredScopes: [...challenge.scopes], resourceMetadataUrl: authInfo?.resourceMetadataUrl },
    );
    const header = response.headers.get('www-authenticate');
    return {
      status: 403,
      code: JsonRpcCode.ServerError,
      message: `Forbidden: the token lacks a scope the tool ${tool} needs (${challenge.scopes.join(' ')})`,
      data: { error: OAuthErrorCode.InsufficientScope, error_description: 'Insufficient scope' },
      ...(header ? { headers: { 'www-authenticate': header } } : {}),
    };
  }
  return undefined;
}
