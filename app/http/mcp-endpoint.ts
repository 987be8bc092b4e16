import type { ServerResponse } from 'node:http';
import { toNodeHandler } from '@modelcontextprotocol/node';
import {
  isLegacyRequest,
  type McpHandlerRequestOptions,
  type McpHttpHandler,
} from '@modelcontextprotocol/server';
import type { Request as ExpressRequest, Response as ExpressResponse } from 'express';
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

  const adapterOptions = {
    onerror: (err: Error) => deps.logger.warn({ err: err.message }, 'MCP request failed in the HTTP adapter'),
  };
  const handler = toNodeHandler({ fetch }, adapterOptions);
  return (req: ExpressRequest, res: ExpressResponse) => {
    // The adapter passes only authInfo and the parsed body through: a deferred rate limit
    // (app/http/rate-limit.ts) rides in a per-request wrapper.
    const admit = takeAdmission(req);
    const handle = admit
      ? toNodeHandler({ fetch: (request, options) => fetch(request, options, admit) }, adapterOptions)
      : handler;
    return handle(req, flushEventStreamHeaders(res), req.body);
  };
}

/**
 * The Node adapter writes headers with the first body chunk. An event stream whose first chunk
 * is a heartbeat 15 s away would leave the client waiting for headers, and a client whose node
 * dies in that window never sees a response to reconnect from. Send event-stream headers at once.
 *
 * "At once" is the end of the current tick, in the same write as what the stream has ready by then:
 * a POST's stream opens with its priming event (the id a client resumes from), and the call runs
 * on in the same tick. Flushed alone, the headers went out first and the priming event only with
 * the call's answer (0.7 ms later at p50 on a quiet node). A node killed in that window (a client
 * under CPU load had held the headers alone for 170 ms when it happened) left the client with a
 * stream it could not resume, and a call that waited out its timeout (test/e2e/cluster-faults.test.ts,
 * kill -9). Corked until the tick ends, the headers never go out without it
 * (test/app/event-stream-headers.test.ts).
 */
export function flushEventStreamHeaders<T extends ServerResponse>(res: T): T {
  const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => T;
  (res as { writeHead: unknown }).writeHead = (...args: unknown[]) => {
    const result = writeHead(...args);
    const contentType = res.getHeader('content-type') ?? findContentType(args[1]) ?? findContentType(args[2]);
    if (typeof contentType === 'string' && contentType.startsWith('text/event-stream')) {
      const socket = res.socket;
      socket?.cork();
      res.flushHeaders();
      process.nextTick(() => socket?.uncork());
    }
    return result;
  };
  return res;
}

function findContentType(headers: unknown): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() === 'content-type' && typeof value === 'string') return value;
  }
  return undefined;
}
