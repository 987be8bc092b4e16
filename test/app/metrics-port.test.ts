import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppNode, safeJson, startAppNode } from '../helpers/app-node.js';
import { connectLegacyClient, textOf } from '../helpers/clients.js';
import { waitFor } from '../helpers/ports.js';

/**
 * With METRICS_PORT, a scraper reads /metrics on its own port and the traffic port (the one a
 * public load balancer forwards to) has no /metrics at all. This is what lets ECS keep the
 * metrics off the ALB while an in-task collector scrapes them.
 */
describe('METRICS_PORT: /metrics on its own listener only', () => {
  let node: AppNode;
  let metricsUrl: string;

  beforeAll(async () => {
    node = await startAppNode({ env: { METRICS_PORT: '0' } });
    metricsUrl = await waitFor('the metrics listener', () => {
      const line = node.logs.map(safeJson).find((entry) => entry?.msg === 'metrics listening');
      return line?.url as string | undefined;
    });
  });
  afterAll(() => node.stop());

  it('serves Prometheus text on the metrics port, counting what the traffic port served', async () => {
    expect(new URL(metricsUrl).port).not.toBe(new URL(node.url).port);
    const { client } = await connectLegacyClient(() => node.url);
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'scraped' } }))).toBe('scraped');
    await client.close();

    const response = await fetch(new URL('/metrics', metricsUrl));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await response.text()).toMatch(/^mcp_tool_calls_total\{[^}]*tool="echo"[^}]*\} 1$/m);
  });

  it('answers /metrics on the traffic port with 404 and a JSON-RPC error body, before any credential check', async () => {
    const response = await fetch(new URL('/metrics', node.url));
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({
      jsonrpc: '2.0',
      error: { message: 'Not found' },
      id: null,
    });
    // The probes stay where the load balancer and the platform expect them.
    expect((await fetch(new URL('/ready', node.url))).status).toBe(200);
  });

  it('serves nothing but /metrics on the metrics port', async () => {
    for (const path of ['/mcp', '/health', '/ready', '/metrics/extra']) {
      const response = await fetch(new URL(path, metricsUrl));
      expect(response.status, path).toBe(404);
    }
  });
});
