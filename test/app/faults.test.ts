import { Agent, get, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppNode, clusterEnv, safeJson, startAppNode } from '../helpers/app-node.js';
import { connectLegacyClient, connectModernClient, textOf } from '../helpers/clients.js';
import { waitFor } from '../helpers/ports.js';
import { postInitialize } from '../helpers/raw-streamable.js';
import { type SharedRedis, startSharedRedis } from '../helpers/shared-redis.js';

describe('faults: Redis outage, session expiry, drain', () => {
  let redis: SharedRedis;
  const started: AppNode[] = [];
  const node = async (nodeId: string, extra: Record<string, string> = {}) => {
    const n = await startAppNode({ nodeId, env: clusterEnv(redis, extra) });
    started.push(n);
    return n;
  };

  beforeAll(async () => {
    redis = await startSharedRedis();
  });
  afterAll(async () => {
    await Promise.all(started.map((n) => n.stop()));
    await redis.close();
  });

  it('answers 503 fast while Redis is down, then recovers by itself when it is back', async () => {
    const a = await node('outage-a');
    let target = a.url;
    const modern = await connectModernClient(() => target);
    expect(textOf(await modern.client.callTool({ name: 'echo', arguments: { text: 'before' } }))).toBe(
      'before',
    );

    await redis.stop();
    // The subscriber may notice first (on a cluster, each connection finds its shards gone on its own).
    const ready = await waitFor('/ready to turn 503: redis unreachable', async () => {
      const response = await fetch(new URL('/ready', a.url));
      const body = (await response.json()) as { reason?: string };
      return response.status === 503 && body.reason === 'redis unreachable' ? body : undefined;
    });
    expect(ready).toMatchObject({ ready: false, reason: 'redis unreachable' });
    const health = await fetch(new URL('/health', a.url));
    expect(health.status).toBe(503);
    // Liveness checks only the process: no platform restarts nodes because Redis is down.
    const live = await fetch(new URL('/live', a.url));
    expect(live.status).toBe(200);
    expect(await live.json()).toMatchObject({ status: 'alive', nodeId: 'outage-a' });
    expect(await health.json()).toMatchObject({ status: 'unhealthy', checks: { redis: { status: 'down' } } });

    const startedAt = performance.now();
    const during = await postInitialize(a.url, { clientName: 'x' });
    expect(performance.now() - startedAt).toBeLessThan(1000);
    expect(during.status).toBe(503);
    expect(during.headers.get('retry-after')).toBe('2');
    expect(await during.json()).toMatchObject({
      jsonrpc: '2.0',
      error: { code: -32603, data: { reason: 'store_unavailable' } },
    });
    await expect(modern.client.callTool({ name: 'echo', arguments: { text: 'down' } })).rejects.toThrow();
    expect(a.process.exitCode).toBeNull();

    await redis.start();
    await waitFor(
      '/ready to turn 200',
      async () => (await fetch(new URL('/ready', a.url))).status === 200,
      20_000,
    );
    expect(textOf(await modern.client.callTool({ name: 'echo', arguments: { text: 'after' } }))).toBe(
      'after',
    );
    const legacy = await connectLegacyClient(() => target);
    expect(textOf(await legacy.client.callTool({ name: 'echo', arguments: { text: 'new session' } }))).toBe(
      'new session',
    );
    target = a.url;
    await Promise.all([modern.client.close(), legacy.client.close()]);
  });

  it('answers 404 on every node once the session TTL has passed without a request', async () => {
    const a = await node('ttl-a', { SESSION_TTL_SECONDS: '2' });
    const b = await node('ttl-b', { SESSION_TTL_SECONDS: '2' });
    const { client, sessionId } = await connectLegacyClient(() => a.url);
    await client.callTool({ name: 'echo', arguments: { text: 'x' } });
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    for (const n of [a, b]) {
      const response = await fetch(new URL('/mcp', n.url), {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-session-id': sessionId()!,
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
      });
      expect(response.status).toBe(404);
    }
  });

  it('drains on SIGTERM: the call in flight completes, then the process exits 0', async () => {
    const a = await node('drain-a', { SHUTDOWN_GRACE_SECONDS: '15' });
    const { client } = await connectLegacyClient(() => a.url);
    const progress: number[] = [];
    const call = client.callTool({ name: 'countdown', arguments: { seconds: 3 } }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    });
    await waitFor('the first progress notification', () => progress.length > 0);
    a.kill('SIGTERM');
    await waitFor('the node to log that it drains', () =>
      a.logs.some((l) => safeJson(l)?.msg === 'draining'),
    );
    // New connections are refused while the call in flight carries on. (A request on a keep-alive
    // connection opened before the drain is still answered, with `Connection: close`: closing
    // those from the server side races a proxy sending on them; see app/node.ts.)
    await expect(
      new Promise((resolve, reject) =>
        get(new URL('/health', a.url), { agent: false }, resolve).once('error', reject),
      ),
    ).rejects.toThrow(/ECONNREFUSED/);
    expect(textOf(await call)).toBe('Counted down 3 s.');
    expect(progress).toEqual([1, 2, 3]);
    expect(await a.exited).toBe(0);
    const drainLine = a.logs.map((l) => safeJson(l)).find((l) => l?.msg === 'draining');
    expect(drainLine).toMatchObject({ reason: 'SIGTERM', inFlight: 1 });
    expect(a.logs.some((l) => safeJson(l)?.msg === 'drained')).toBe(true);
  });

  it('drains without closing a keep-alive connection from its side: a request on it is answered, with Connection: close', async () => {
    // A proxy keeps idle connections to each node and may send on one at any instant. If the node
    // closed them when it starts draining (Node's server.close() does), a POST sent at that instant
    // would fail in the proxy, which cannot resend it.
    const a = await node('drain-keepalive', { SHUTDOWN_GRACE_SECONDS: '15' });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const health = () =>
      new Promise<{ response: IncomingMessage; reused: boolean }>((resolve, reject) => {
        const request = get(new URL('/health', a.url), { agent }, (response) => {
          response.resume();
          response.once('end', () => resolve({ response, reused: request.reusedSocket }));
        });
        request.once('error', reject);
      });
    try {
      const before = await health();
      expect(before.response.statusCode).toBe(200);
      expect(before.response.headers.connection).toBe('keep-alive');
      a.kill('SIGTERM');
      await waitFor('the node to log that it drains', () =>
        a.logs.some((l) => safeJson(l)?.msg === 'draining'),
      );
      const during = await health();
      expect(during.reused, 'the request went on the connection opened before the drain').toBe(true);
      expect(during.response.statusCode).toBe(200);
      expect(during.response.headers.connection).toBe('close');
      expect(await a.exited).toBe(0);
    } finally {
      agent.destroy();
    }
  });
});
