/**
 * JSON-RPC error responses over HTTP, in the shapes the MCP transports use
 * (`{ jsonrpc: "2.0", error: { code, message }, id: null }`).
 */
export const JsonRpcCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  InternalError: -32603,
  /** Used by the SDK transports for transport-level rejections (bad session header, 4xx). */
  ServerError: -32000,
  /** "Session not found", as the SDK's Streamable HTTP transport answers it. */
  SessionNotFound: -32001,
} as const;

/** The body of a JSON-RPC error answered over HTTP: one shape for fetch handlers and Express alike. */
export function jsonRpcErrorBody(
  code: number,
  message: string,
  options: { data?: unknown; id?: string | number | null } = {},
) {
  return {
    jsonrpc: '2.0' as const,
    error: { code, message, ...(options.data === undefined ? {} : { data: options.data }) },
    id: options.id ?? null,
  };
}

export function jsonRpcErrorResponse(
  status: number,
  code: number,
  message: string,
  options: { data?: unknown; headers?: Record<string, string>; id?: string | number | null } = {},
): Response {
  return Response.json(jsonRpcErrorBody(code, message, options), { status, headers: options.headers });
}

/**
 * Why a Redis command failed, as far as a caller can act on it (classified in app/store/redis-errors.ts):
 * - `unreachable`: no connection (down, refused, reset, timed out, half-open);
 * - `failover`: `READONLY`, `LOADING`, `MASTERDOWN`: the endpoint names a server that is not (yet) the primary;
 * - `busy`: Redis refuses work for now (`OOM`, `BUSY`, `TRYAGAIN`, `CLUSTERDOWN`);
 * - `misrouted`: `MOVED`, `ASK`: the key's slot is on another shard of a cluster;
 * - `rejected`: any other reply error (a wrong key type, a script error, `CROSSSLOT`): a bug, not an outage.
 */
export type StoreFailure = 'unreachable' | 'failover' | 'busy' | 'misrouted' | 'rejected';

const FAILURE_TEXT: Record<StoreFailure, string> = {
  unreachable: 'is unreachable',
  failover: 'is failing over',
  busy: 'is out of memory or busy',
  misrouted: 'moved the key to another shard (MOVED/ASK; a cluster needs REDIS_CLUSTER=true)',
  rejected: 'rejected a command',
};

/**
 * Thrown by a store when a Redis command fails, whatever the reason: the HTTP edge answers 503 with
 * `Retry-After` (never 500, never the SDK's 400), and the message carries no command argument.
 */
export class StoreUnavailableError extends Error {
  readonly code = 'STORE_UNAVAILABLE';
  constructor(
    operation: string,
    cause?: unknown,
    readonly failure: StoreFailure = 'unreachable',
  ) {
    super(`The session store (Redis) ${FAILURE_TEXT[failure]} during ${operation}`, { cause });
    this.name = 'StoreUnavailableError';
  }
}

export function storeUnavailableResponse(): Response {
  return jsonRpcErrorResponse(
    503,
    JsonRpcCode.InternalError,
    'Service unavailable: the session store (Redis) is unreachable. Retry shortly.',
    { data: { reason: 'store_unavailable' }, headers: { 'retry-after': '2' } },
  );
}

export function sessionNotFoundResponse(): Response {
  return jsonRpcErrorResponse(404, JsonRpcCode.SessionNotFound, 'Session not found');
}
