import { hostHeaderValidation, originValidation } from '@modelcontextprotocol/express';
import type { OAuthTokenVerifier } from '@modelcontextprotocol/server';
import type { RequestHandler } from 'express';
import helmet from 'helmet';
import { authenticate } from '../../auth/authenticate.js';
import { protectedResourceRouter } from '../../auth/protected-resource.js';
import type { Config } from '../../config.js';
import type { Logger } from '../../logger.js';
import type { RateLimiters } from '../../store/rate-limiters.js';
import { rateLimit } from '../rate-limit.js';
import { bodyTimeout } from './body-timeout.js';
import { limitJsonRpcBody, requireJsonRpcPost } from './request-shape.js';

const LOCALHOST_NAMES = ['localhost', '127.0.0.1', '[::1]'];
const LOCAL_BINDS = new Set(['127.0.0.1', 'localhost', '::1']);

/**
 * Every HTTP-level control, in the order a request meets them. app/http/app.ts mounts the three
 * stages around its routes, so every route after them (/mcp, /sse, /messages, and any added
 * later) is covered without opting in; /live, /health, /ready and /metrics sit before `gate`.
 */
export interface HttpSecurity {
  /** Express `trust proxy`: decides what `req.ip` (and so the per-IP limit) believes. */
  trustProxy: boolean | number | string;
  /** Before any route: security headers and the body-arrival deadline. */
  beforeRouting: RequestHandler[];
  /** After the operations routes, before the body is parsed: who may call, how often, in what shape. */
  gate: RequestHandler[];
  /** After JSON parsing: batch and nesting limits. */
  afterParsing: RequestHandler[];
}

export function createHttpSecurity(deps: {
  config: Pick<Config, 'host' | 'auth' | 'http' | 'rateLimit'>;
  limiters: RateLimiters;
  logger: Logger;
  verifier?: OAuthTokenVerifier;
}): HttpSecurity {
  const { config, logger } = deps;
  const gate: RequestHandler[] = [];

  // DNS rebinding: Host and Origin allowlists (403). A localhost bind defaults to localhost names;
  // a public bind without ALLOWED_ORIGINS refuses every request that carries an Origin, since
  // only browsers send one and no browser origin was allowed.
  const allowedHosts =
    config.http.allowedHosts ?? (LOCAL_BINDS.has(config.host) ? LOCALHOST_NAMES : undefined);
  if (allowedHosts) gate.push(hostHeaderValidation(allowedHosts));
  else logger.warn('ALLOWED_HOSTS is not set on a public bind: the Host header is not checked');
  gate.push(
    originValidation(config.http.allowedOrigins ?? (LOCAL_BINDS.has(config.host) ? LOCALHOST_NAMES : [])),
  );

  if (config.auth.mode !== 'none') gate.push(protectedResourceRouter(config.auth, config.http.publicUrl));
  const limit = (scope: 'ip' | 'principal', deferOn?: string) =>
    rateLimit({
      limiters: deps.limiters,
      scope,
      windowSeconds: config.rateLimit.windowSeconds,
      logger,
      deferOn,
    });
  gate.push(limit('ip'));
  gate.push(
    authenticate({ auth: config.auth, publicUrl: config.http.publicUrl, logger, verifier: deps.verifier }),
  );
  // Without authentication every caller is the same principal: a per-principal limit would be global.
  // On /mcp it is checked by the route, in the same round trip as the session check.
  if (config.auth.mode !== 'none') gate.push(limit('principal', '/mcp'));
  gate.push(requireJsonRpcPost());

  return {
    trustProxy: config.http.trustProxy,
    beforeRouting: [helmet(), bodyTimeout({ timeoutMs: config.http.bodyTimeoutMs, logger })],
    gate,
    afterParsing: [limitJsonRpcBody({ maxBatchSize: config.http.maxBatchSize })],
  };
}
