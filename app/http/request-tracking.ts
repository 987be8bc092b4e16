import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';

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
    const requestId = req.header('x-request-id') ?? randomUUID();
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
        sessionId: req.header('mcp-session-id') ?? (req.query.sessionId as string | undefined),
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
