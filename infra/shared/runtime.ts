import type { ServerConfig } from '../config.js';

/**
 * The container contract both platforms honour: which plain variables a server gets and how long
 * each layer waits while it drains. Kept in one place so ECS and EKS cannot drift apart.
 */

/** Heartbeats must beat the shortest idle timeout in front of the app (NLB: 350 s, ALB: 3600 s). */
export const SSE_HEARTBEAT_SECONDS = 15;

/** Plain (non-secret) environment for one server. Secrets never pass through here. */
export function plainEnv(name: string, server: ServerConfig, stack: string): Record<string, string> {
  const env: Record<string, string> = {
    ...(server.build === 'app'
      ? { LOG_LEVEL: 'info', SSE_HEARTBEAT_SECONDS: String(SSE_HEARTBEAT_SECONDS) }
      : {}),
    ...server.env,
    PORT: String(server.port),
    HOST: '0.0.0.0',
    NODE_ENV: 'production',
    SHUTDOWN_GRACE_SECONDS: String(server.drainSeconds),
  };
  if (server.redis) env.REDIS_KEY_PREFIX = `mcp-fleet:${stack}:${name}:`;
  return env;
}

export interface DrainTimings {
  /** ALB deregistration delay: in-flight requests and streams get the app's drain period. */
  deregistrationDelaySeconds: number;
  /** ECS: SIGKILL follows SIGTERM after this; Fargate caps it at 120 s. */
  stopTimeoutSeconds: number;
  /** Kubernetes: the pod sleeps this long before SIGTERM so endpoints and nginx stop routing to it. */
  preStopSleepSeconds: number;
  /** Kubernetes: must exceed preStop + drain, or the kubelet kills the pod mid-drain. */
  terminationGracePeriodSeconds: number;
}

export function drainTimings(server: ServerConfig): DrainTimings {
  const preStopSleepSeconds = 5;
  return {
    deregistrationDelaySeconds: server.drainSeconds,
    stopTimeoutSeconds: Math.min(120, server.drainSeconds + 5),
    preStopSleepSeconds,
    terminationGracePeriodSeconds: preStopSleepSeconds + server.drainSeconds + 10,
  };
}

/** The public MCP endpoint path for a server, relative to its ingress path. */
export function mcpUrl(scheme: 'http' | 'https', host: string, server: ServerConfig): string {
  const prefix = server.ingress.path === '/' ? '' : server.ingress.path.replace(/\/$/, '');
  return `${scheme}://${host}${prefix}${server.mcpPath}`;
}
