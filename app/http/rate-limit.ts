import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { JsonRpcCode, jsonRpcErrorBody } from '../errors.js';
import type { Logger } from '../logger.js';
import { principalOf } from '../mcp/principal.js';
import type { RateLimiters } from '../store/rate-limiters.js';

type Scope = 'ip' | 'principal';

/**
 * One rate limit as Express middleware. Over the limit: 429 with `Retry-After` and a JSON-RPC
 * error saying which limit and when to retry. Mounted after /live, /health, /ready and /metrics, so
 * probes and scrapes are never limited.
 */
export function rateLimit(deps: {
  limiters: RateLimiters;
  scope: Scope;
  windowSeconds: number;
  logger: Logger;
}): RequestHandler {
  const limiter = deps.scope === 'ip' ? deps.limiters.perIp : deps.limiters.perPrincipal;
  if (!limiter) return (_req, _res, next) => next();
  const keyOf = (req: Request) => (deps.scope === 'ip' ? (req.ip ?? 'unknown') : principalOf(req.auth));

  return async (req: Request, res: Response, next: NextFunction) => {
    const key = keyOf(req);
    try {
      const result = await limiter.consume(key);
      res.set('ratelimit-remaining', String(result.remainingPoints));
      next();
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) {
        // Only reachable if the insurance limiter itself failed: serve rather than refuse everyone.
        deps.logger.error(
          { err: (rejection as Error).message, scope: deps.scope },
          'rate limiter failed; request let through',
        );
        next();
        return;
      }
      const retryAfter = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      deps.logger.warn(
        {
          event: 'rate_limited',
          scope: deps.scope,
          ip: req.ip,
          principal: principalOf(req.auth),
          route: req.path,
          retryAfterSeconds: retryAfter,
        },
        'request over the rate limit',
      );
      res
        .status(429)
        .set('retry-after', String(retryAfter))
        .set('ratelimit-remaining', '0')
        .json(
          jsonRpcErrorBody(
            JsonRpcCode.ServerError,
            `Too many requests: the limit is ${limiter.points} per ${deps.windowSeconds} s per ${deps.scope === 'ip' ? 'client IP' : 'caller'}. Retry after ${retryAfter} s.`,
            { data: { reason: 'rate_limited', scope: deps.scope, retryAfterSeconds: retryAfter } },
          ),
        );
    }
  };
}
