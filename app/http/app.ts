import { createMcpExpressApp } from '@modelcontextprotocol/express';
import type { ErrorRequestHandler, Express, RequestHandler } from 'express';
import { JsonRpcCode } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { FleetStore } from '../store/types.js';
import { type NodeState, operationsRouter } from './operations.js';

/** Bodies larger than this are refused with 413 before any parsing. */
export const MAX_BODY = '4mb';

export function createHttpApp(deps: {
  host: string;
  logger: Logger;
  metrics: Metrics;
  store: FleetStore;
  node: NodeState;
  tracking: RequestHandler;
  mcp: RequestHandler;
}): Express {
  // Host and Origin validation (DNS rebinding) and the JSON body parser come from the SDK.
  const app = createMcpExpressApp({ host: deps.host, jsonLimit: MAX_BODY });
  app.disable('x-powered-by');
  app.use(deps.tracking);
  app.use(operationsRouter({ store: deps.store, metrics: deps.metrics, node: deps.node }));
  app.all('/mcp', deps.mcp);
  app.use(jsonBodyErrors(deps.logger));
  return app;
}

/** Body-parser failures answered as JSON-RPC errors, not Express's HTML page. */
function jsonBodyErrors(logger: Logger): ErrorRequestHandler {
  return (err, _req, res, next) => {
    if (res.headersSent) return next(err);
    const type = (err as { type?: string }).type;
    if (type === 'entity.parse.failed') {
      res.status(400).json({
        jsonrpc: '2.0',
        error: { code: JsonRpcCode.ParseError, message: 'Parse error: Invalid JSON' },
        id: null,
      });
      return;
    }
    if (type === 'entity.too.large') {
      res.status(413).json({
        jsonrpc: '2.0',
        error: { code: JsonRpcCode.ServerError, message: `Payload too large: the limit is ${MAX_BODY}` },
        id: null,
      });
      return;
    }
    const status = (err as { status?: number }).status ?? 500;
    if (status >= 500) logger.error({ err }, 'unhandled HTTP error');
    res.status(status).json({
      jsonrpc: '2.0',
      error: {
        code: status >= 500 ? JsonRpcCode.InternalError : JsonRpcCode.InvalidRequest,
        message: status >= 500 ? 'Internal server error' : (err as Error).message,
      },
      id: null,
    });
  };
}
