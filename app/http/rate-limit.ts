import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { type RateLimiterAbstract, RateLimiterRes } from 'rate-limiter-flexible';
import { JsonRpcCode, jsonRpcErrorBody } from '../errors.js';
import type { Logger } from '../logger.js';
import { principalOf } from '../mcp/principal.js';
import type { RateLimiters } from '../store/rate-limiters.js';

type Scope = 'ip' | 'principal';

/**
 * A rate-limit check left for the route to run: it answers a web Response (429) to refuse, or
 * nothing to let the request through. The route runs it exactly once, together with its own first
 * Redis command, so that the two round trips overlap: one in series.
 */
export type Admission = () => Promise<globalThis.Response | undefined>;

const deferred = new WeakMap<Request, Admission>();

/** The check `rateLimit` left for this request's route (`deferOn`), if any. */
export function takeAdmission(req: Request): Admission | undefined {
  const admission = deferred.get(req);
  deferred.delete(req);
  return admission;
}

interface Refusal {
  retryAfter: number;
  body: ReturnType<typeof jsonRpcErrorBody>;
}

/**
 * One rate limit as Express middleware. Over the limit: 429 with `Retry-After` and a JSON-RPC
 * error saying which limit and when to retry. Mounted after /live, /health, /ready and /metrics, so
 * probes and scrapes are never limited. On `deferOn` (the /mcp path) the check is not run here but
 * handed to the route (`takeAdmission`), which sends it with the session check.
 */
export function rateLimit(deps: {
  limiters: RateLimiters;
  scope: Scope;
  windowSeconds: number;
  logger: Logger;
  deferOn?: string;
}): RequestHandler {
  const limiter = deps.scope === 'ip' ? deps.limiters.perIp : deps.limiters.perPrincipal;
  if (!limiter) return (_req, _res, next) => next();
  const keyOf = (req: Request) => (deps.scope === 'ip' ? (req.ip ?? 'unknown') : principalOf(req.auth));
  const check = (req: Request, res: Response) => consume(limiter, keyOf(req), req, res, deps);

  return async (req: Request, res: Response, next: NextFunction) => {
    if (req.path === deps.deferOn) {
      deferred.set(req, async () => {
        const refusal = await check(req, res);
        if (!refusal) return undefined;
        return globalThis.Response.json(refusal.body, {
          status: 429,
          headers: { 'retry-after': String(refusal.retryAfter), 'ratelimit-remaining': '0' },
        });
      });
      next();
      return;
    }
    const refusal = await check(req, res);
    if (!refusal) {
      next();
      return;
    }
    res
      .status(429)
      .set('retry-after', String(refusal.retryAfter))
      .set('ratelimit-remaining', '0')
      .json(refusal.body);
  };
}

/** Counts the request; sets `ratelimit-remaining` when let through, and logs a refusal. */
async function consume(
  limiter: RateLimiterAbstract,
  key: string,
  req: Request,
  res: Response,
  deps: { scope: Scope; windowSeconds: number; logger: Logger },
): Promise<Refusal | undefined> {
  try {
    const result = await limiter.consume(key);
    if (!res.headersSent) res.setHeader('ratelimit-remaining', String(result.remainingPoints));
    return undefined;
  } catch (rejection) {
    if (!(rejection instanceof RateLimiterRes)) {
      // Only reachable if the insurance limiter itself failed: serve rather than refuse everyone.
      deps.logger.error(
        { err: (rejection as Error).message, scope: deps.scope },
        'rate limiter failed; request let through',
      );
      return undefined;
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
    return {
      retryAfter,
      body: jsonRpcErrorBody(
        JsonRpcCode.ServerError,
        `Too many requests: the limit is ${limiter.points} per ${deps.windowSeconds} s per ${deps.scope === 'ip' ? 'client IP' : 'caller'}. Retry after ${retryAfter} s.`,
        { data: { reason: 'rate_limited', scope: deps.scope, retryAfterSeconds: retryAfter } },
      ),
    };
  }
}
