import type { AuthInfo } from '@modelcontextprotocol/server';
import { type Request, type Response, Router } from 'express';
import { JsonRpcCode, jsonRpcErrorBody, StoreUnavailableError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { FleetStore } from '../../store/types.js';
import type { LegacySseSessions, Refusal } from './legacy-sse-sessions.js';

/**
 * The HTTP face of the 2024-11-05 transport: `GET /sse` opens (or, with `?sessionId=`, resumes)
 * a session's event stream; `POST /messages?sessionId=` carries the client's messages and is
 * answered 202 once the node holding the stream has them.
 */
export function legacySseRouter(deps: {
  sessions: LegacySseSessions;
  store: FleetStore;
  logger: Logger;
}): Router {
  const router = Router();

  router.get('/sse', async (req, res) => {
    if (!deps.store.isAvailable()) return refuse(res, storeUnavailable);
    if (!req.accepts('text/event-stream')) {
      return refuse(res, {
        status: 406,
        code: JsonRpcCode.ServerError,
        message: 'Not Acceptable: the client must accept text/event-stream',
      });
    }
    try {
      const refusal = await deps.sessions.openStream(res, queryParam(req, 'sessionId'), authInfoOf(req));
      if (refusal) refuse(res, refusal);
    } catch (err) {
      failed(res, err, deps.logger, 'could not open an sse stream');
    }
  });

  router.post('/messages', async (req, res) => {
    if (!deps.store.isAvailable()) return refuse(res, storeUnavailable);
    if (!req.is('application/json')) {
      return refuse(res, {
        status: 415,
        code: JsonRpcCode.ServerError,
        message: 'Unsupported Media Type: the body must be application/json',
      });
    }
    try {
      const refusal = await deps.sessions.postMessages(
        queryParam(req, 'sessionId'),
        req.body,
        authInfoOf(req),
      );
      if (refusal) refuse(res, refusal);
      else res.status(202).type('text/plain').send('Accepted');
    } catch (err) {
      failed(res, err, deps.logger, 'could not accept an sse message');
    }
  });

  return router;
}

const storeUnavailable: Refusal = {
  status: 503,
  code: JsonRpcCode.InternalError,
  message: 'Service unavailable: the session store (Redis) is unreachable. Retry shortly.',
  data: { reason: 'store_unavailable' },
  headers: { 'retry-after': '2' },
};

function refuse(res: Response, refusal: Refusal): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res
    .status(refusal.status)
    .set(refusal.headers ?? {})
    .json(jsonRpcErrorBody(refusal.code, refusal.message, { data: refusal.data }));
}

function failed(res: Response, err: unknown, logger: Logger, what: string): void {
  if (err instanceof StoreUnavailableError) {
    refuse(res, storeUnavailable);
    return;
  }
  logger.error({ err }, what);
  refuse(res, { status: 500, code: JsonRpcCode.InternalError, message: 'Internal server error' });
}

function queryParam(req: Request, name: string): string | undefined {
  const value = req.query[name];
  return typeof value === 'string' ? value : undefined;
}

/** Set by bearer-token middleware when authentication is on; absent means the anonymous principal. */
function authInfoOf(req: Request): AuthInfo | undefined {
  return (req as Request & { auth?: AuthInfo }).auth;
}
