import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** One registry per node, so that several in-process nodes (tests) never share counters. */
export function createMetrics(labels: { nodeId: string }) {
  const registry = new Registry();
  registry.setDefaultLabels({ node_id: labels.nodeId });
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    toolCalls: new Counter({
      name: 'mcp_tool_calls_total',
      help: 'Tool calls by tool and outcome (ok, error).',
      labelNames: ['tool', 'status'] as const,
      registers: [registry],
    }),
    toolDuration: new Histogram({
      name: 'mcp_tool_duration_seconds',
      help: 'Tool call duration.',
      labelNames: ['tool'] as const,
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120],
      registers: [registry],
    }),
    activeSessions: new Gauge({
      name: 'mcp_active_sessions',
      help: '2025-era sessions with a live transport on this node.',
      registers: [registry],
    }),
    sessionRestores: new Counter({
      name: 'mcp_session_restores_total',
      help: 'Sessions this node restored from the store after another node created them.',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    httpRequests: new Counter({
      name: 'mcp_http_requests_total',
      help: 'HTTP requests by route and status code.',
      labelNames: ['route', 'status'] as const,
      registers: [registry],
    }),
    storeCommandDuration: new Histogram({
      name: 'mcp_redis_command_duration_seconds',
      help: 'Latency of session-store operations (one Redis round trip each).',
      labelNames: ['operation', 'outcome'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
