import { isJsonContentType } from '@modelcontextprotocol/server';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { JsonRpcCode, jsonRpcErrorBody } from '../../errors.js';

/** The POST routes that carry JSON-RPC: Streamable HTTP (both eras) and the 2024 HTTP+SSE leg. */
const JSON_RPC_POSTS = new Set(['/mcp', '/messages']);

/** Deeper than this is no real MCP message, and deep enough to hurt recursive code downstream. */
const MAX_JSON_DEPTH = 64;

function reject(res: Response, status: number, code: number, message: string): void {
  res.status(status).json(jsonRpcErrorBody(code, message));
}

/**
 * Content negotiation for JSON-RPC POSTs, before any body is read.
 *
 * - 415 unless `Content-Type` is `application/json`;
 * - 406 on POST /mcp unless `Accept` lists both `application/json` and `text/event-stream`, the
 *   rule of the Streamable HTTP transport. The SDK's 2025-era transport enforces it itself, but
 *   the 2026-07-28 stateless handler does not (see `isLegacyRequest`), so both eras get it here.
 */
export function requireJsonRpcPost(): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'POST' || !JSON_RPC_POSTS.has(req.path)) {
      next();
      return;
    }
    if (!isJsonContentType(req.get('content-type') ?? '')) {
      reject(
        res,
        415,
        JsonRpcCode.ServerError,
        'Unsupported Media Type: Content-Type must be application/json',
      );
      return;
    }
    const accept = req.get('accept') ?? '';
    if (
      req.path === '/mcp' &&
      !(accept.includes('application/json') && accept.includes('text/event-stream'))
    ) {
      reject(
        res,
        406,
        JsonRpcCode.ServerError,
        'Not Acceptable: Client must accept both application/json and text/event-stream',
      );
      return;
    }
    next();
  };
}

/**
 * Limits on a parsed JSON-RPC body: a batch may hold at most `maxBatchSize` messages, may not be
 * empty, and no value may nest deeper than 64 levels. Each is 400 with -32600 Invalid Request.
 */
export function limitJsonRpcBody(options: { maxBatchSize: number }): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'POST' || !JSON_RPC_POSTS.has(req.path)) {
      next();
      return;
    }
    const body: unknown = req.body;
    if (Array.isArray(body) && body.length === 0) {
      reject(res, 400, JsonRpcCode.InvalidRequest, 'Invalid Request: an empty batch');
      return;
    }
    if (Array.isArray(body) && body.length > options.maxBatchSize) {
      reject(
        res,
        400,
        JsonRpcCode.InvalidRequest,
        `Invalid Request: a batch of ${body.length} messages; the limit is ${options.maxBatchSize}`,
      );
      return;
    }
    if (depthExceeds(body, MAX_JSON_DEPTH)) {
      reject(
        res,
        400,
        JsonRpcCode.InvalidRequest,
        `Invalid Request: JSON nested deeper than ${MAX_JSON_DEPTH} levels`,
      );
      return;
    }
    next();
  };
}

/** Iterative, so that the check itself cannot overflow the stack it protects. */
function depthExceeds(root: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[root, 0]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop() as [unknown, number];
    if (value === null || typeof value !== 'object') continue;
    if (depth >= limit) return true;
    for (const child of Object.values(value)) stack.push([child, depth + 1]);
  }
  return false;
}
