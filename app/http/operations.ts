import { Router } from 'express';
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
export function operationsRouter(deps: { store: FleetStore; metrics: Metrics; node: NodeState }): Router {
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

  router.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  return router;
}

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
