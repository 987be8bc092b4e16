import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppNode, startAppNode } from '../helpers/app-node.js';
import { connectLegacyClient, connectSseClient, textOf } from '../helpers/clients.js';

const PREFIX = '/team-a';

/**
 * A load balancer that mounts the server under a path prefix and strips it, as the ALB rule and
 * ingress-nginx's rewrite do for a non-root `ingress.path`: only `/team-a/…` reaches the node,
 * as `/…`. Anything else gets the edge's own 404. (node:http, because the point is the path
 * rewrite a proxy makes, and no test helper of ours rewrites paths.)
 */
function prefixStrippingProxy(): Promise<{ server: Server; url: string; target: (url: string) => void }> {
  let upstream: URL | undefined;
  const server = createServer((req, res) => {
    if (!upstream || !req.url?.startsWith(`${PREFIX}/`)) {
      res.writeHead(404).end();
      return;
    }
    const forwarded = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url.slice(PREFIX.length),
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forwarded.on('error', () => res.destroy());
    req.pipe(forwarded);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        server,
        url: `http://127.0.0.1:${port}`,
        target: (url) => {
          upstream = new URL(url);
        },
      });
    }),
  );
}

describe('mounted under a path prefix that the load balancer strips (ingress.path: /team-a)', () => {
  let node: AppNode;
  let proxy: Awaited<ReturnType<typeof prefixStrippingProxy>>;

  beforeAll(async () => {
    proxy = await prefixStrippingProxy();
    node = await startAppNode({ env: { PUBLIC_URL: `${proxy.url}${PREFIX}` } });
    proxy.target(node.url);
  });
  afterAll(async () => {
    await node?.stop();
    proxy?.server.closeAllConnections();
    await new Promise((resolve) => proxy?.server.close(resolve));
  });

  it('tells a 2024-11-05 client to POST under the prefix, and its calls complete', async () => {
    const { client } = await connectSseClient(() => proxy.url, { path: `${PREFIX}/sse` });
    // The proxy forwards only /team-a/…: the call completes only if the endpoint the server
    // announced is the public /team-a/messages, not its own /messages.
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'through the prefix' } }))).toBe(
      'through the prefix',
    );
    await client.close();
  });

  it('serves a 2025 Streamable HTTP client at the prefixed /mcp', async () => {
    const { client } = await connectLegacyClient(() => proxy.url, 'prefix-2025', { path: `${PREFIX}/mcp` });
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'hi' } }))).toBe('hi');
    await client.close();
  });
});
