import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppNode, startAppNode } from '../helpers/app-node.js';
import { structuredOf } from '../helpers/clients.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import {
  connectV1,
  connectV2,
  type GatewayTarget,
  gatewayFetch,
  MCP_POST_HEADERS,
} from '../helpers/gateway-clients.js';
import { freePort, waitFor } from '../helpers/ports.js';
import { initializeRequest } from '../helpers/raw-streamable.js';
import { startHeaderEcho, type Upstream } from '../helpers/upstreams.js';

/**
 * How a gateway node finds instances and lets go of them: a `dns` upstream whose A records a
 * real DNS server (on loopback) changes, as Cloud Map or a headless Service does when tasks come
 * and go; the drain; and 2026-07-28 requests, which carry no session, spread over instances.
 */
const NAME = 'echo.mcp.internal';
const FIRST = '127.0.0.2';
const SECOND = '127.0.0.3';

interface Received {
  instance: string;
}

async function instanceOf(client: Awaited<ReturnType<typeof connectV1>>['client']): Promise<string> {
  return structuredOf<Received>(await client.callTool({ name: 'received', arguments: {} })).instance;
}

/** The HTTP status of a failed v1 call, or 'ok'. */
async function outcomeOf(client: Awaited<ReturnType<typeof connectV1>>['client']): Promise<unknown> {
  return instanceOf(client).then(
    () => 'ok',
    (err: { code?: unknown }) => err.code,
  );
}

describe('a dns upstream: every A record an instance, re-resolved', () => {
  let dns: TestDnsServer;
  let gateway: AppNode;
  const echoes: Upstream[] = [];
  let target: GatewayTarget;

  beforeAll(async () => {
    dns = await startDnsServer();
    dns.setRecords(NAME, [FIRST, SECOND]);
    // One port, two addresses: what DNS instances look like.
    const port = await freePort();
    echoes.push(
      ...(await Promise.all([
        startHeaderEcho(FIRST, { host: FIRST, port }),
        startHeaderEcho(SECOND, { host: SECOND, port }),
      ])),
    );
    gateway = await startAppNode({
      env: {
        UPSTREAMS: JSON.stringify({ echo: { dns: NAME, port, refreshSeconds: 1 } }),
        UPSTREAM_DNS_SERVERS: dns.address,
      },
    });
    target = { base: gateway.url, upstream: 'echo' };
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await Promise.all(echoes.map((echo) => echo.kill()));
    await dns?.close();
  });

  it('spreads sessions over every address, drops a removed one (404 for its sessions), and takes it back', async () => {
    const sessions = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const connected = await connectV1(target);
        return { ...connected, instance: await instanceOf(connected.client) };
      }),
    );
    expect(new Set(sessions.map((s) => s.instance))).toEqual(new Set([FIRST, SECOND]));

    // Scale-in: the record goes. The process still runs, but it is no instance any more.
    dns.setRecords(NAME, [FIRST]);
    const leaving = sessions.filter((s) => s.instance === SECOND);
    const staying = sessions.filter((s) => s.instance === FIRST);
    const watched = leaving[0];
    if (!watched) throw new Error('no session on the second instance');
    await waitFor(
      'the removed instance to be dropped',
      async () => (await outcomeOf(watched.client)) === 404,
    );
    for (const session of leaving) expect(await outcomeOf(session.client)).toBe(404);
    for (const session of staying) expect(await instanceOf(session.client)).toBe(FIRST);
    for (let i = 0; i < 3; i++) {
      const { client } = await connectV1(target);
      expect(await instanceOf(client)).toBe(FIRST);
      await client.close();
    }

    // Scale-out: it is back, and new sessions reach it again.
    dns.setRecords(NAME, [FIRST, SECOND]);
    await waitFor('new sessions to reach the returned instance', async () => {
      const { client } = await connectV1(target);
      const instance = await instanceOf(client);
      await client.close();
      return instance === SECOND;
    });
    expect(dns.queries(NAME)).toBeGreaterThan(2);
    await Promise.all(sessions.map(({ client }) => client.close().catch(() => undefined)));
  });

  it('reports upstreams, instances and pins in /metrics', async () => {
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(metrics).toMatch(/mcp_gateway_instances\{upstream="echo"[^}]*\} 2/);
    expect(metrics).toMatch(
      new RegExp(`mcp_gateway_instance_up\\{upstream="echo",instance="http://${SECOND}:\\d+"`),
    );
    expect(metrics).toMatch(
      /mcp_gateway_pins_total\{upstream="echo",transport="streamable-http"[^}]*\} [1-9]/,
    );
    expect(metrics).toMatch(/mcp_gateway_pins_lost_total\{upstream="echo"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/mcp_gateway_requests_total\{upstream="echo",status="200"[^}]*\} [1-9]/);
    // Logs name the upstream and the instance of every proxied request.
    const line = gateway.logs.find((l) => l.includes('"route":"/servers"'));
    expect(JSON.parse(line ?? '{}')).toMatchObject({
      upstream: 'echo',
      instance: expect.stringMatching(/^http:\/\/127\.0\.0\.[23]:/),
    });
  });
});

async function openSessionByHand(target: GatewayTarget): Promise<string> {
  const post = (body: object, sessionId?: string) =>
    gatewayFetch(target, 'mcp', {
      method: 'POST',
      headers: { ...MCP_POST_HEADERS, ...(sessionId ? { 'mcp-session-id': sessionId } : {}) },
      body: JSON.stringify(body),
    });
  const init = await post(initializeRequest('by-hand'));
  await init.text();
  const sessionId = init.headers.get('mcp-session-id') ?? '';
  expect(sessionId).toMatch(/^gw1\./);
  expect((await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, sessionId)).status).toBe(202);
  return sessionId;
}

describe('draining a gateway node', () => {
  it('lets a proxied call in flight finish, then closes the streams it holds', async () => {
    const echo = await startHeaderEcho('drain-echo');
    const gateway = await startAppNode({
      env: { UPSTREAMS: JSON.stringify({ echo: { urls: [echo.url] } }), SHUTDOWN_GRACE_SECONDS: '15' },
    });
    try {
      const target = { base: gateway.url, upstream: 'echo' };
      const { client } = await connectV1(target);
      // A second session, opened by hand, whose GET stream the test holds (the client holds its own).
      const sessionId = await openSessionByHand(target);
      const stream = await gatewayFetch(target, 'mcp', {
        headers: { accept: 'text/event-stream', 'mcp-session-id': sessionId },
      });
      expect(stream.status).toBe(200);
      const streamEnded = stream.text().then(
        () => 'ended',
        () => 'broken',
      );
      const call = client.callTool({ name: 'slow', arguments: { ms: 1500 } });
      await new Promise((resolve) => setTimeout(resolve, 300));
      gateway.kill('SIGTERM');
      expect(await call).toMatchObject({ content: [{ text: 'slept 1500 ms on drain-echo' }] });
      expect(await streamEnded).toBe('ended');
      expect(await gateway.exited).toBe(0);
    } finally {
      await gateway.stop();
      await echo.kill();
    }
  });
});

describe('2026-07-28 requests through the gateway', () => {
  it('go to the least-loaded instance each time, with no session to pin', async () => {
    // Our own app, in single-node mode, is a 2026-07-28 server: two of them are the upstream.
    const instances = await Promise.all([
      startAppNode({ nodeId: 'modern-1' }),
      startAppNode({ nodeId: 'modern-2' }),
    ]);
    const gateway = await startAppNode({
      env: { UPSTREAMS: JSON.stringify({ fleet: { urls: instances.map((i) => i.url) } }) },
    });
    try {
      const { client, transport } = await connectV2({ base: gateway.url, upstream: 'fleet' });
      const served = new Set<string>();
      for (let i = 0; i < 6; i++) {
        const info = structuredOf<{ nodeId: string; era: string }>(
          await client.callTool({ name: 'node_info', arguments: {} }),
        );
        expect(info.era).toBe('2026-07-28');
        served.add(info.nodeId);
      }
      expect(transport.sessionId).toBeUndefined();
      expect(served).toEqual(new Set(['modern-1', 'modern-2']));
      await client.close();
    } finally {
      await Promise.all([gateway, ...instances].map((node) => node.stop()));
    }
  });
});
