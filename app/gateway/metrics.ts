import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The gateway's metrics, on the node's own registry (served at /metrics with the rest). */
export function createGatewayMetrics(registry: Registry) {
  const registers = [registry];
  return {
    requests: new Counter({
      name: 'mcp_gateway_requests_total',
      help: 'Requests proxied to an upstream, by upstream and the status answered to the client.',
      labelNames: ['upstream', 'status'] as const,
      registers,
    }),
    latency: new Histogram({
      name: 'mcp_gateway_upstream_latency_seconds',
      help: 'From sending a request to an upstream instance to its response headers (streams: to the first byte).',
      labelNames: ['upstream'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
      registers,
    }),
    pins: new Counter({
      name: 'mcp_gateway_pins_total',
      help: 'Upstream sessions pinned to an instance, by transport (streamable-http: Mcp-Session-Id; sse: the 2024 endpoint).',
      labelNames: ['upstream', 'transport'] as const,
      registers,
    }),
    pinsLost: new Counter({
      name: 'mcp_gateway_pins_lost_total',
      help: 'Requests for a pinned session whose instance is gone (answered 404, so the client starts a new session).',
      labelNames: ['upstream'] as const,
      registers,
    }),
    openStreams: new Gauge({
      name: 'mcp_gateway_open_streams',
      help: 'Event streams from upstreams held open to clients by this node.',
      labelNames: ['upstream'] as const,
      registers,
    }),
    instances: new Gauge({
      name: 'mcp_gateway_instances',
      help: 'Instances of each upstream this node knows (fixed URLs, or the last DNS answer).',
      labelNames: ['upstream'] as const,
      registers,
    }),
    instanceUp: new Gauge({
      name: 'mcp_gateway_instance_up',
      help: '1 while an instance takes new sessions, 0 for a few seconds after a connect to it failed.',
      labelNames: ['upstream', 'instance'] as const,
      registers,
    }),
    dnsFailures: new Counter({
      name: 'mcp_gateway_dns_failures_total',
      help: 'Failed re-resolutions of a dns upstream (the last answer is kept).',
      labelNames: ['upstream'] as const,
      registers,
    }),
  };
}

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;
