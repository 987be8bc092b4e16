import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import { JsonRpcCode, jsonRpcErrorBody } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { FleetStore } from '../store/types.js';
import { type NodeState, operationsRouter } from './operations.js';
import type { HttpSecurity } from './security/http-security.js';

/** Bodies larger than this are refused with 413 before any parsing. */
export const MAX_BODY = '4mb';

export function createHttpApp(deps: {
  host: string;
  logger: Logger;
  metrics: Metrics;
  store: FleetStore;
  node: NodeState;
  /** METRICS_PORT is set: this app answers /metrics 404 (see operationsRouter). */
  metricsElsewhere?: boolean;
  tracking: RequestHandler;
  mcp: RequestHandler;
  /** The 2024-11-05 HTTP+SSE transport: `GET /sse` and `POST /messages`. */
  legacySse?: RequestHandler;
  /** The gateway to third-party MCP servers at `/servers/<name>/…` (app/gateway); reads its own raw body. */
  gateway?: RequestHandler;
  /** Headers, Host/Origin checks, authentication, rate limits and request limits (app/http/security). */
  security: HttpSecurity;
}): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.security.trustProxy);
  app.use(deps.tracking);
  app.use(deps.security.beforeRouting);
  // Probes and scrapes come from load balancers and kubelets that address the node by IP and
  // carry no credentials: answered before Host checks, authentication and rate limits.
  app.use(
    operationsRouter({
      store: deps.store,
      metrics: deps.metrics,
      node: deps.node,
      metricsElsewhere: deps.metricsElsewhere,
    }),
  );
  // Who may call and how often is settled before a body of up to MAX_BODY is read and parsed.
  app.use(deps.security.gate);
  if (deps.gateway) app.use('/servers', deps.gateway);
  app.use(express.json({ limit: MAX_BODY }));
  app.use(deps.security.afterParsing);
  app.all('/mcp', deps.mcp);
  if (deps.legacySse) app.use(deps.legacySse);
  // Any other path: a JSON-RPC error, as every other refusal is, not Express's HTML page.
  app.use((_req, res) => {
    res.status(404).json(jsonRpcErrorBody(JsonRpcCode.InvalidRequest, 'Not found: no such endpoint'));
  });
  app.use(jsonBodyErrors(deps.logger));
  return app;
}

/** Body-parser failures answered as JSON-RPC errors, not Express's HTML page. */
function jsonBodyErrors(logger: Logger): ErrorRequestHandler {
  return (err, _req, res, next) => {
    if (res.headersSent) return next(err);
    const type = (err as { type?: string }).type;
    if (type === 'entity.parse.failed') {
      res.status(400).json(jsonRpcErrorBody(JsonRpcCode.ParseError, 'Parse error: Invalid JSON'));
      return;
    }
    if (type === 'entity.too.large') {
      res
        .status(413)
        .json(jsonRpcErrorBody(JsonRpcCode.ServerError, `Payload too large: the limit is ${MAX_BODY}`));
      return;
    }
    const status = (err as { status?: number }).status ?? 500;
    if (status >= 500) logger.error({ err }, 'unhandled HTTP error');
    res
      .status(status)
      .json(
        status >= 500
          ? jsonRpcErrorBody(JsonRpcCode.InternalError, 'Internal server error')
          : jsonRpcErrorBody(JsonRpcCode.InvalidRequest, (err as Error).message),
      );
  };
}
