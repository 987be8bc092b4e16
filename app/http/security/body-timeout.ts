import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { JsonRpcCode, jsonRpcErrorBody } from '../../errors.js';
import type { Logger } from '../../logger.js';

/**
 * Bounds how long a request body may take to arrive (slowloris on bodies).
 *
 * The server's own `requestTimeout` must stay 0, because SSE responses live for hours; but a
 * request *body* has no reason to take more than seconds. A body still incomplete after
 * `timeoutMs` gets 408 (when no answer was sent yet) and its connection is closed, so a client
 * trickling bytes cannot hold a socket and a parser open. Headers are bounded separately by
 * `server.headersTimeout`.
 */
export function bodyTimeout(deps: { timeoutMs: number; logger: Logger }): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.complete) {
      next();
      return;
    }
    const timer = setTimeout(() => {
      if (req.complete) return;
      deps.logger.warn(
        { event: 'body_timeout', ip: req.ip, route: req.path, timeoutMs: deps.timeoutMs },
        'request body too slow; closing the connection',
      );
      if (res.headersSent) {
        req.socket.destroy();
        return;
      }
      res.once('finish', () => req.socket.destroy());
      res
        .status(408)
        .set('connection', 'close')
        .json(
          jsonRpcErrorBody(
            JsonRpcCode.ServerError,
            `Request timeout: the body did not arrive within ${deps.timeoutMs / 1000} s`,
          ),
        );
    }, deps.timeoutMs);
    const clear = () => clearTimeout(timer);
    req.once('end', clear);
    req.once('close', clear);
    res.once('close', () => {
      if (req.complete) clear();
    });
    next();
  };
}
