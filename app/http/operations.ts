import express, { type Express, Router } from 'express';
import { JsonRpcCode, jsonRpcErrorBody } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { FleetStore } from '../store/types.js';

export interface NodeState {
  nodeId: string;
  isDraining(): boolean;
  activeSessions(): number;
  /** What must work for this node to take traffic (none on the embedded store). */
  readiness: ReadinessCheck[];
}

/** A dependency that keeps the node out of the load balancer while it has a problem. */
export interface ReadinessCheck {
  name: string;
  /** Why it cannot serve now, in words that name it (`/ready`'s `reason`), or undefined when it can. */
  problem(): string | undefined;
}

type RedisCheck =
  | { status: 'up'; latencyMs: number }
  | { status: 'down'; error: string }
  | { status: 'embedded'; detail: string };

/**
 * `/live` (liveness: the process answers), `/health` (status with dependency checks, for people
 * and dashboards), `/ready` (readiness: take traffic?) and `/metrics` (Prometheus).
 *
 * Liveness checks nothing outside the process on purpose: a platform restarts a container whose
 * liveness fails, and restarting every node because Redis is down only adds crash loops to the
 * outage. Readiness is what takes a node out of the load balancer while Redis is unreachable.
 */
export function operationsRouter(deps: {
  store: FleetStore;
  metrics: Metrics;
  node: NodeState;
  /** METRICS_PORT is set: /metrics lives on that listener, and this one answers it 404. */
  metricsElsewhere?: boolean;
}): Router {
  const router = Router();

  router.get('/live', (_req, res) => {
    res.json({ status: 'alive', nodeId: deps.node.nodeId });
  });

  router.get('/health', async (_req, res) => {
    const redis = await checkRedis(deps.store);
    const problems = Object.fromEntries(
      deps.node.readiness.map((check) => [check.name, check.problem()] as const).filter(([, p]) => p),
    );
    const healthy = redis.status !== 'down' && Object.keys(problems).length === 0;
    res.status(healthy ? 200 : 503).json({
      status: healthy ? 'healthy' : 'unhealthy',
      nodeId: deps.node.nodeId,
      mode: deps.store.mode === 'redis' ? 'cluster' : 'single-node',
      activeSessions: deps.node.activeSessions(),
      draining: deps.node.isDraining(),
      timestamp: new Date().toISOString(),
      checks: { redis },
      ...(healthy ? {} : { problems }),
    });
  });

  router.get('/ready', (_req, res) => {
    const reason = deps.node.isDraining() ? 'draining' : firstProblem(deps.node.readiness);
    res
      .status(reason ? 503 : 200)
      .json({ ready: !reason, nodeId: deps.node.nodeId, ...(reason ? { reason } : {}) });
  });

  if (deps.metricsElsewhere) {
    // Answered here, before authentication: a 401 would tell a scraper pointed at the wrong port
    // that credentials would help.
    router.all('/metrics', notFound);
  } else {
    router.get('/metrics', scrape(deps.metrics));
  }
  return router;
}

/**
 * The METRICS_PORT listener: `GET /metrics` and nothing else. It sits on its own port so that a
 * platform can open it to its scraper only, never to the public load balancer in front of PORT.
 */
export function metricsApp(metrics: Metrics): Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', scrape(metrics));
  app.use(notFound);
  return app;
}

function scrape(metrics: Metrics): express.RequestHandler {
  return async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  };
}

const notFound: express.RequestHandler = (_req, res) => {
  res.status(404).json(jsonRpcErrorBody(JsonRpcCode.InvalidRequest, 'Not found'));
};

function firstProblem(checks: ReadinessCheck[]): string | undefined {
  for (const check of checks) {
    const problem = check.problem();
    if (problem) return problem;
  }
  return undefined;
}

async function checkRedis(store: FleetStore): Promise<RedisCheck> {
  if (store.mode === 'embedded') {
    return {
      status: 'embedded',
      detail: 'single node: in-memory store (set REDIS_URL to run several nodes)',
    };
  }
  try {
    return { status: 'up', latencyMs: Math.round((await store.ping()) * 100) / 100 };
  } catch (err) {
    return { status: 'down', error: (err as Error).message };
  }
}
