import { RequestError } from '@hono/node-server';
import {
  isLegacyRequest,
  type McpHandlerRequestOptions,
  type McpHttpHandler,
} from '@modelcontextprotocol/server';
import type { Request as ExpressRequest } from 'express';
import {
  JsonRpcCode,
  jsonRpcErrorResponse,
  StoreUnavailableError,
  storeUnavailableResponse,
} from '../errors.js';
import type { Logger } from '../logger.js';
import type { StreamableSessionManager } from '../sessions/streamable-session-manager.js';
import type { FleetStore } from '../store/types.js';
import { type Admission, takeAdmission } from './rate-limit.js';
import { serveWebHandler } from './web-adapter.js';

/**
 * `/mcp`: one endpoint, two eras, any node. 2026-07-28 requests (which carry the per-request
 * `_meta` envelope) go to the SDK's stateless handler; everything else is 2025-era traffic and
 * goes to the sessionful handler backed by the shared store.
 */
export function createMcpEndpoint(deps: {
  modern: McpHttpHandler;
  sessions: StreamableSessionManager;
  store: FleetStore;
  logger: Logger;
}) {
  const fetch = async (
    request: Request,
    options: McpHandlerRequestOptions = {},
    admit?: Admission,
  ): Promise<Response> => {
    // Fail fast while the store is down: the load balancer is pulling this node (ready = 503),
    // and a request that would hang on Redis helps nobody.
    if (!deps.store.isAvailable()) return storeUnavailableResponse();
    try {
      if (await isLegacyRequest(request, options.parsedBody)) {
        // The session manager sends the per-principal limit with its session check.
        return await deps.sessions.handle(request, { ...options, admit });
      }
      const refusal = await admit?.();
      if (refusal) return refusal;
      return await deps.modern.fetch(request, options);
    } catch (err) {
      if (err instanceof StoreUnavailableError) return storeUnavailableResponse();
      deps.logger.error({ err }, 'unhandled error serving /mcp');
      return jsonRpcErrorResponse(500, JsonRpcCode.InternalError, 'Internal server error');
    }
  };

  return serveWebHandler(
    // Express parsed the body and authenticated the caller; a deferred rate limit
    // (app/http/rate-limit.ts) is sent with the session check.
    (request, req: ExpressRequest) =>
      fetch(
        request,
        {
          ...(req.auth !== undefined && { authInfo: req.auth }),
          ...(req.body !== undefined && { parsedBody: req.body }),
        },
        takeAdmission(req),
      ),
    {
      onError: (err) => {
        if (err instanceof RequestError)
          return jsonRpcErrorResponse(400, JsonRpcCode.InvalidRequest, `Bad request: ${err.message}`);
        deps.logger.error({ err }, 'unhandled error serving /mcp');
        return jsonRpcErrorResponse(500, JsonRpcCode.InternalError, 'Internal server error');
      },
    },
  );
}
