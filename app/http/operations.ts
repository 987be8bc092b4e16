import { Router } from 'express';
import type { Metrics } from '../metrics.js';
import type { FleetStore } from '../store/types.js';

export interface NodeState {
  nodeId: string;
  isDraining(): boolean;
  activeSessions(): number;
}

type RedisCheck =
  | { status: 'up'; latencyMs: number }
  | { status: 'down'; error: string }
  | { status: 'embedded'; detail: string };

/** `/health` (liveness, with checks), `/ready` (readiness) and `/metrics` (Prometheus). */
export function operationsRouter(deps: { store: FleetStore; metrics: Metrics; node: NodeState }): Router {
  const router = Router();

  router.get('/health', async (_req, res) => {
    const redis = await checkRedis(deps.store);
    const healthy = redis.status !== 'down';
    res.status(healthy ? 200 : 503).json({
      status: healthy ? 'healthy' : 'unhealthy',
      nodeId: deps.node.nodeId,
      mode: deps.store.mode === 'redis' ? 'cluster' : 'single-node',
      activeSessions: deps.node.activeSessions(),
      draining: deps.node.isDraining(),
      timestamp: new Date().toISOString(),
      checks: { redis },
    });
  });

  router.get('/ready', (_req, res) => {
    const reason = deps.node.isDraining()
      ? 'draining'
      : deps.store.isAvailable()
        ? undefined
        : 'redis unreachable';
    res
      .status(reason ? 503 : 200)
      .json({ ready: !reason, nodeId: deps.node.nodeId, ...(reason ? { reason } : {}) });
  });

  router.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  return router;
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
