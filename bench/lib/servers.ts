import { readFileSync } from 'node:fs';
import { type AppNode, clusterEnv, type StartOptions, startAppNode } from '../../test/helpers/app-node.js';
import type { Entries } from './build.js';

/** The bench only needs the startup lines; a load run logs a line per request. */
const MAX_LOG_LINES = 500;

export type Server = AppNode;

/** The API key every bench client presents (an admin key, so that `notify_change` is allowed). */
export const BENCH_API_KEY = 'bench-api-key-0123456789abcdef';

/** What a client sends to authenticate: the recorded clients carry it into every replayed request. */
export const BENCH_AUTH_HEADERS = { authorization: `Bearer ${BENCH_API_KEY}` };

/**
 * Production settings for our nodes: API-key authentication on, so that the per-principal limit and
 * quotas run as well as the per-IP limit, with all of them raised out of reach (one load generator
 * on one IP, with one key, is meant to exceed them). They still run on every request, so their cost
 * is in every number.
 */
export const PRODUCTION_SETTINGS = {
  AUTH_MODE: 'apikey',
  AUTH_API_KEYS: BENCH_API_KEY,
  AUTH_ADMIN_API_KEYS: BENCH_API_KEY,
  RATE_LIMIT_WINDOW_SECONDS: '1',
  RATE_LIMIT_PER_IP: '1000000',
  RATE_LIMIT_PER_PRINCIPAL: '1000000',
  QUOTA_SESSIONS_PER_PRINCIPAL: '1000000',
  QUOTA_STREAMS_PER_PRINCIPAL: '1000000',
};

/** The plain SDK in-memory server (bench/baseline/server.ts), as a child process like our nodes. */
export function startBaseline(entries: Entries): Promise<Server> {
  // It serves only /mcp: no /ready to wait for.
  return startAppNode({
    nodeId: 'sdk-baseline',
    node: entries.node,
    entry: entries.baseline,
    maxLogLines: MAX_LOG_LINES,
    awaitReady: false,
  });
}

/** The environment of a bench node in cluster mode (Redis), keys under `bench:`. */
export function clusterEnvFor(redisUrl: string): Record<string, string> {
  return { ...clusterEnv(redisUrl, { REDIS_KEY_PREFIX: 'bench:' }), ...PRODUCTION_SETTINGS };
}

/** One of our nodes: with Redis when `redisUrl` is given (cluster mode), else embedded. */
export function startFleetNode(
  entries: Entries,
  redisUrl: string | undefined,
  options: Omit<StartOptions, 'maxLogLines' | 'entry'> = {},
): Promise<Server> {
  return startAppNode({
    ...options,
    node: entries.node,
    entry: entries.app,
    // Production defaults (LOG_LEVEL=info included) and API-key authentication: the bench measures
    // what users run, except that the rate limits are raised out of reach (PRODUCTION_SETTINGS).
    env: { ...(redisUrl ? clusterEnvFor(redisUrl) : PRODUCTION_SETTINGS), ...options.env },
    maxLogLines: MAX_LOG_LINES,
  });
}

export interface ProcessSample {
  rssBytes: number;
  /** User plus system CPU time the process has used so far. */
  cpuSeconds: number;
}

/** Reads RSS and CPU time from /proc (Linux), without touching the process. */
export function sampleProcess(pid: number): ProcessSample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN);
  // Fields after the command name, which is parenthesised and may contain spaces.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
  return { rssBytes: rssKb * 1024, cpuSeconds: ticks / USER_HZ };
}

/** /proc reports CPU time in clock ticks; USER_HZ is 100 on every Linux ABI Node supports. */
const USER_HZ = 100;

export function pidOf(server: Server): number {
  const pid = server.process.pid;
  if (pid === undefined) throw new Error(`${server.nodeId} has no pid: it did not start`);
  return pid;
}

/** CPU seconds of a process and its direct children (nginx's master and its workers). */
export function treeCpuSeconds(pid: number): number {
  let total = sampleProcess(pid).cpuSeconds;
  for (const child of childrenOf(pid)) {
    try {
      total += sampleProcess(child).cpuSeconds;
    } catch {
      // The child exited between the listing and the read: its time is gone with it.
    }
  }
  return total;
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}
