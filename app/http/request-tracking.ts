import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';

/**
 * A request id worth keeping from the caller (a proxy's, a tracing id): 1 to 128 characters from a
 * conservative set, which covers UUIDs, hex and base64url ids, and AWS `X-Amzn-Trace-Id` values.
 * Anything else is replaced by an id of our own: it is echoed in a response header and written to
 * every log line, and neither should carry a caller's 16 KB of arbitrary bytes.
 */
const REQUEST_ID = /^[A-Za-z0-9._:;=+/@-]{1,128}$/;

export function requestIdOf(header: string | undefined): string {
  return header !== undefined && REQUEST_ID.test(header) ? header : randomUUID();
}

const KNOWN_ROUTES = new Set(['/mcp', '/sse', '/messages', '/live', '/health', '/ready', '/metrics']);
const QUIET_ROUTES = new Set(['/live', '/health', '/ready', '/metrics']);

/**
 * Counts, logs and tracks every request. Calls in flight (anything but a long-lived GET stream)
 * are what a drain waits for.
 */
export function requestTracking(deps: { logger: Logger; metrics: Metrics; isDraining: () => boolean }) {
  let inFlight = 0;
  const middleware = (req: Request, res: Response, next: NextFunction) => {
    const started = performance.now();
    const requestId = requestIdOf(req.header('x-request-id'));
    const route = KNOWN_ROUTES.has(req.path)
      ? req.path
      : req.path.startsWith('/servers/')
        ? '/servers'
        : 'other';
    const isCall = req.method !== 'GET' && route !== 'other';
    res.setHeader('x-request-id', requestId);
    // While draining, ask keep-alive clients to reconnect, which lands them on another node.
    if (deps.isDraining()) res.setHeader('connection', 'close');
    if (isCall) inFlight++;
    res.once('close', () => {
      if (isCall) inFlight--;
      deps.metrics.httpRequests.inc({ route, status: String(res.statusCode) });
      const line = {
        requestId,
        method: req.method,
        route,
        status: res.statusCode,
        // Hashed by the logger (app/log-privacy.ts), like every `sessionId` in a log line.
        sessionId: req.header('mcp-session-id') ?? req.query.sessionId,
        durationMs: Math.round(performance.now() - started),
        // Fields a route adds for its own requests (the gateway: upstream and instance).
        ...(res.locals.log as Record<string, string> | undefined),
      };
      if (QUIET_ROUTES.has(route)) deps.logger.debug(line, 'request');
      else deps.logger.info(line, 'request');
    });
    next();
  };
  return { middleware, inFlight: () => inFlight };
}
