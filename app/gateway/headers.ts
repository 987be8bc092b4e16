import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** Headers that belong to one connection (RFC 9110 §7.6.1), never forwarded either way. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
]);

/**
 * Request headers the gateway never passes to an upstream:
 * - `authorization`: the caller's credential is for this gateway. The MCP security guidance
 *   forbids token passthrough; an upstream gets only its own credentials (`headersFromEnv`);
 * - `proxy-authorization` and `cookie`, credentials of the same kind;
 * - `host` and `content-length`, which the HTTP client sets for the upstream;
 * - `mcp-session-id`, replaced by the upstream's own id when the request is pinned;
 * - the `x-forwarded-*` and `forwarded` a client may have sent: the gateway sets its own.
 */
const NOT_FORWARDED = new Set([
  ...HOP_BY_HOP,
  'authorization',
  'proxy-authorization',
  'cookie',
  'host',
  'content-length',
  'mcp-session-id',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-prefix',
]);

export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  options: {
    upstreamSessionId: string | undefined;
    secretHeaders: Record<string, string>;
    forwarded: { for: string; host: string | undefined; proto: string; prefix: string };
    /** Ask for an uncompressed body: a 2024 event stream must be read to rewrite its endpoint. */
    identityEncoding: boolean;
  },
): Record<string, string | string[]> {
  const named = connectionTokens(incoming.connection);
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || NOT_FORWARDED.has(name) || named.has(name)) continue;
    headers[name] = value;
  }
  if (options.identityEncoding) delete headers['accept-encoding'];
  if (options.upstreamSessionId !== undefined) headers['mcp-session-id'] = options.upstreamSessionId;
  headers['x-forwarded-for'] = options.forwarded.for;
  if (options.forwarded.host) headers['x-forwarded-host'] = options.forwarded.host;
  headers['x-forwarded-proto'] = options.forwarded.proto;
  headers['x-forwarded-prefix'] = options.forwarded.prefix;
  Object.assign(headers, options.secretHeaders);
  return headers;
}

/**
 * Response headers passed back to the client. `www-authenticate` is dropped: a challenge from an
 * upstream names the upstream's authorization server, and a client must never be sent to fetch
 * a token for it (401s from an upstream become 502s, see proxy.ts).
 */
export function clientResponseHeaders(
  upstream: Record<string, string | string[] | undefined>,
  options: { keepContentLength: boolean },
): OutgoingHttpHeaders {
  const named = connectionTokens(upstream.connection);
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(upstream)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name)) continue;
    if (name === 'www-authenticate' || name === 'mcp-session-id') continue;
    if (name === 'content-length' && !options.keepContentLength) continue;
    headers[name] = value;
  }
  return headers;
}

function connectionTokens(value: string | string[] | undefined): Set<string> {
  if (value === undefined) return new Set();
  const joined = Array.isArray(value) ? value.join(',') : value;
  return new Set(
    joined
      .split(',')
      .map((token) => token.trim().toLowerCase())
      .filter(Boolean),
  );
}
