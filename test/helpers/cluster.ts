import { type AppNode, clusterEnv, type StartOptions, startAppNode } from './app-node.js';
import { startNginx, type TestNginx } from './nginx.js';
import { freePort } from './ports.js';
import { requireBinary } from './redis-server.js';
import { type RedisKind, type SharedRedis, startSharedRedis } from './shared-redis.js';

/**
 * A local mcp-fleet cluster as users run it: N app nodes sharing one private Redis (standalone, or
 * a 3-shard Redis Cluster: TEST_REDIS or `redis`) and one MCP_STATE_KEY, behind one nginx
 * configured as the SSE ingress. Used by `npm run cluster` and the end-to-end tests.
 */
export interface LocalCluster {
  /** nginx's base URL; clients talk to `${url}/mcp`. */
  url: string;
  redis: SharedRedis;
  nginx: TestNginx;
  nodes: ClusterNode[];
  /** Stops nginx, every node (SIGTERM, so that they drain) and Redis. Idempotent. */
  stop(): Promise<void>;
}

/** One slot behind nginx: a fixed port and node id, and the process currently serving it. */
export interface ClusterNode {
  readonly index: number;
  readonly nodeId: string;
  readonly port: number;
  /** The node's own URL, bypassing nginx. */
  readonly url: string;
  /** The process serving this slot now; replaced by `restart`. */
  readonly current: AppNode;
  /** Sends the signal; resolves once the process has exited. */
  kill(signal: NodeJS.Signals): Promise<number | NodeJS.Signals>;
  /** Starts a fresh process on the same port (after a kill) and waits until it listens. */
  start(): Promise<void>;
}

export interface ClusterOptions {
  nodes: number;
  /** Extra environment for every node (added to REDIS_URL, MCP_STATE_KEY and REDIS_KEY_PREFIX). */
  env?: Record<string, string>;
  /** Node ids are `${namePrefix}-1` … `${namePrefix}-N`. */
  namePrefix?: string;
  /** Newest log lines kept in memory per node; a long-running cluster logs a line per request. */
  maxLogLines?: number;
  /** Ask for this nginx port; a free one by default. */
  port?: number;
  /** Passive health check window, seconds. */
  failTimeoutSeconds?: number;
  /** nginx's `worker_shutdown_timeout`, seconds (240 by default, as on EKS). */
  workerShutdownTimeoutSeconds?: number;
  /** Which Redis the nodes share; TEST_REDIS's choice (standalone by default) unless given. */
  redis?: RedisKind;
  /** Node arguments that start each node; from source through tsx by default (bench/ runs the build). */
  entry?: string[];
  /** The Node executable of each node; this process's by default. */
  node?: string;
}

export async function startCluster(options: ClusterOptions): Promise<LocalCluster> {
  if (!Number.isInteger(options.nodes) || options.nodes < 1) {
    throw new Error(`a cluster needs at least one node, got ${options.nodes}`);
  }
  // Check both binaries before starting anything, so that a missing one fails with its install line.
  requireBinary('redis-server', 'redis-server');
  requireBinary('nginx', 'nginx');

  // Durable, as a production Redis is: a restart keeps the session records.
  const redis = await startSharedRedis({ kind: options.redis, durable: true });
  const nodes: ClusterNode[] = [];
  let nginx: TestNginx | undefined;
  const stop = async () => {
    await nginx?.stop();
    await Promise.all(nodes.map((node) => stopGracefully(node)));
    await redis.close();
  };
  try {
    const env = { ...clusterEnv(redis), ...options.env };
    const ports = await distinctFreePorts(options.nodes);
    const slots = ports.map((port, i) =>
      clusterNode(i, `${options.namePrefix ?? 'node'}-${i + 1}`, port, env, options.maxLogLines, {
        entry: options.entry,
        node: options.node,
      }),
    );
    nodes.push(...slots);
    await Promise.all(slots.map((slot) => slot.start()));
    nginx = await startNginx({
      upstreams: slots.map((slot) => `127.0.0.1:${slot.port}`),
      port: options.port,
      failTimeoutSeconds: options.failTimeoutSeconds,
      workerShutdownTimeoutSeconds: options.workerShutdownTimeoutSeconds,
    });
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  let stopped: Promise<void> | undefined;
  return {
    url: nginx.url,
    redis,
    nginx,
    nodes,
    stop: () => {
      stopped ??= stop();
      return stopped;
    },
  };
}

function clusterNode(
  index: number,
  nodeId: string,
  port: number,
  env: Record<string, string>,
  maxLogLines: number | undefined,
  spawnWith: Pick<StartOptions, 'entry' | 'node'>,
): ClusterNode {
  let current: AppNode | undefined;
  return {
    index,
    nodeId,
    port,
    url: `http://127.0.0.1:${port}`,
    get current() {
      if (!current) throw new Error(`${nodeId} has not been started`);
      return current;
    },
    kill: async (signal) => {
      if (!current) throw new Error(`${nodeId} has not been started`);
      current.kill(signal);
      return current.exited;
    },
    start: async () => {
      if (current && current.process.exitCode === null && current.process.signalCode === null) {
        throw new Error(`${nodeId} is still running (pid ${current.process.pid})`);
      }
      current = await startAppNode({
        nodeId,
        env: { ...env, PORT: String(port) },
        ...(maxLogLines ? { maxLogLines } : {}),
        ...(spawnWith.entry ? { entry: spawnWith.entry } : {}),
        ...(spawnWith.node ? { node: spawnWith.node } : {}),
      });
    },
  };
}

/** SIGTERM (the node drains), then SIGKILL if it has not exited within its grace period. */
async function stopGracefully(node: ClusterNode): Promise<void> {
  let process: AppNode;
  try {
    process = node.current;
  } catch {
    return;
  }
  if (process.process.exitCode !== null || process.process.signalCode !== null) return;
  process.kill('SIGTERM');
  const timer = setTimeout(() => process.kill('SIGKILL'), 30_000);
  await process.exited;
  clearTimeout(timer);
}

/** `freePort` can hand out one port twice when called back to back; ask until they differ. */
async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}
