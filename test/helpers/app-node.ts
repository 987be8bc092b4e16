import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from './ports.js';
import { startTestRedis, type TestRedis } from './redis-server.js';
import { startSharedRedis } from './shared-redis.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A real app node, run as a child process exactly as `npm start` runs it, but from source. */
export interface AppNode {
  url: string;
  nodeId: string;
  process: ChildProcess;
  logs: string[];
  /** Resolves with the exit code (or signal) once the process has ended. */
  exited: Promise<number | NodeJS.Signals>;
  kill(signal?: NodeJS.Signals): void;
  stop(): Promise<void>;
}

export interface StartOptions extends SpawnOptions {
  env?: Record<string, string | undefined>;
  nodeId?: string;
  /**
   * Wait for `/ready` to answer 200 before returning (default true), as a platform waits before it
   * routes traffic: a node listens before its Redis subscriber is confirmed, and answers 503 until then.
   * False for a node that is meant to start while Redis is away.
   */
  awaitReady?: boolean;
}

export interface SpawnOptions {
  /** Keep only the newest lines: a long load run (bench/) logs a line per request. */
  maxLogLines?: number;
  /** Extra Node flags, e.g. `--cpu-prof` for profiling under load. */
  nodeArgs?: string[];
  /** The entry script; the default runs from source through tsx, `dist/app/main.js` runs the build. */
  entry?: string[];
  /** The Node executable; this process's by default (bench/ runs the image's version). */
  node?: string;
}

export function spawnApp(
  env: Record<string, string | undefined>,
  options: SpawnOptions = {},
): { child: ChildProcess; logs: string[] } {
  const entry = options.entry ?? ['--import', 'tsx', 'app/main.ts'];
  const child = spawn(options.node ?? process.execPath, [...(options.nodeArgs ?? []), ...entry], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const maxLogLines = options.maxLogLines ?? Number.POSITIVE_INFINITY;
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) logs.push(line);
    if (logs.length > maxLogLines) logs.splice(0, logs.length - maxLogLines);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  return { child, logs };
}

export async function startAppNode(options: StartOptions = {}): Promise<AppNode> {
  const nodeId = options.nodeId ?? `node-${Math.random().toString(36).slice(2, 8)}`;
  const { child, logs } = spawnApp({ NODE_ID: nodeId, ...options.env }, options);
  const exited = new Promise<number | NodeJS.Signals>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  let early: number | NodeJS.Signals | undefined;
  void exited.then((code) => {
    early = code;
  });
  const url = await waitFor(
    `node ${nodeId} to listen`,
    () => {
      if (early !== undefined) throw new Error(`node ${nodeId} exited with ${early}:\n${logs.join('\n')}`);
      for (const line of logs) {
        const parsed = safeJson(line);
        if (parsed?.msg === 'listening') return parsed.url as string;
      }
      return undefined;
    },
    30_000,
  ).catch((err: unknown) => {
    // A node that never said "listening" (a LOG_LEVEL above info hides that line) must not
    // outlive the test as an orphan holding its port and Redis connections.
    child.kill('SIGKILL');
    throw err;
  });
  if (options.awaitReady ?? true) {
    await waitFor(
      `node ${nodeId} to be ready`,
      async () => {
        if (early !== undefined) throw new Error(`node ${nodeId} exited with ${early}:\n${logs.join('\n')}`);
        return (await fetch(new URL('/ready', url))).status === 200 || undefined;
      },
      30_000,
    ).catch((err: unknown) => {
      child.kill('SIGKILL');
      throw new Error(`${(err as Error).message}\n${logs.slice(-20).join('\n')}`);
    });
  }
  return {
    url,
    nodeId,
    process: child,
    logs,
    exited,
    kill: (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

export function safeJson(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** A state key every node of a test cluster shares, as MCP_STATE_KEY must be in production. */
export const TEST_STATE_KEY = 'test-state-key-0123456789abcdef0123456789abcdef';

/** The environment of a node sharing a Redis: its URL, or a SharedRedis (which adds REDIS_CLUSTER to a cluster's). */
export function clusterEnv(
  redis: string | { env: Record<string, string> },
  extra: Record<string, string> = {},
): Record<string, string> {
  const shared = typeof redis === 'string' ? { REDIS_URL: redis } : redis.env;
  return { ...shared, MCP_STATE_KEY: TEST_STATE_KEY, REDIS_KEY_PREFIX: 'test:', ...extra };
}

/** Two nodes sharing one private Redis, as a two-node deployment behind a load balancer. */
export interface TwoNodes {
  redis: TestRedis;
  a: AppNode;
  b: AppNode;
  /** Stops both nodes, then the Redis. */
  stop(): Promise<void>;
}

/**
 * Starts a private Redis and two nodes on it, `<name>-a` and `<name>-b`, with `extra` in their
 * environment. If a node fails to start, what did start is stopped before the error is thrown.
 */
export async function startTwoNodes(name: string, extra: Record<string, string> = {}): Promise<TwoNodes> {
  const { redis, nodes, stop } = await startNodesOn(
    await startTestRedis(),
    [`${name}-a`, `${name}-b`],
    extra,
  );
  const [a, b] = nodes as [AppNode, AppNode];
  return { redis, a, b, stop };
}

/**
 * Starts nodes named `nodeIds` on the suite's shared Redis (standalone, or a cluster with
 * TEST_REDIS=cluster: test/helpers/shared-redis.ts), with `extra` in their environment.
 */
export async function startNodesOnSharedRedis(nodeIds: string[], extra: Record<string, string> = {}) {
  return startNodesOn(await startSharedRedis(), nodeIds, extra);
}

/** Starts the nodes on `redis`; if one fails to start, what did start is stopped, Redis too, before the error is thrown. */
async function startNodesOn<R extends { url?: string; env?: Record<string, string>; close(): Promise<void> }>(
  redis: R,
  nodeIds: string[],
  extra: Record<string, string>,
): Promise<{ redis: R; nodes: AppNode[]; stop: () => Promise<void> }> {
  const env = clusterEnv(redis.env ? { env: redis.env } : (redis.url as string), extra);
  const started = await Promise.allSettled(nodeIds.map((nodeId) => startAppNode({ nodeId, env })));
  const nodes = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await redis.close();
  };
  const failed = started.find((result) => result.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  return { redis, nodes, stop };
}
