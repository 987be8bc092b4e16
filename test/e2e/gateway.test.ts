import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCluster, startCluster } from '../helpers/cluster.js';
import {
  connectSse,
  connectV1,
  connectV2,
  type GatewayTarget,
  gatewayFetch,
  MCP_POST_HEADERS,
  openRawSse,
} from '../helpers/gateway-clients.js';
import { waitFor } from '../helpers/ports.js';
import { startEverything, startHeaderEcho, type Upstream } from '../helpers/upstreams.js';

/**
 * The gateway as the issue tried it and failed without it: two replicas of the reference server
 * behind round robin. Here they sit behind two gateway nodes (real app processes sharing one
 * Redis) behind nginx round robin, so consecutive requests of one session land on different
 * gateway nodes and each must find the replica holding the session by itself.
 */
const API_KEY = 'gateway-e2e-key-0123456789';
const UPSTREAM_SECRET = 'upstream-only-secret-42';
/** A pinned call to a dead instance fails at once (refused) or after the 2 s connect bound: never near this. */
const NO_HANG_MS = 10_000;

let cluster: LocalCluster;
const upstreams: Record<string, Upstream[]> = {};
const target = (upstream: string): GatewayTarget => ({ base: cluster.url, upstream, token: API_KEY });

interface EverythingEnv {
  PORT: string;
}

/** Which replica of the reference server answered: its `get-env` tool reports its PORT. */
async function replicaOf(client: {
  callTool(params: { name: string; arguments: Record<string, unknown> }): Promise<unknown>;
}) {
  const result = (await client.callTool({ name: 'get-env', arguments: {} })) as {
    content: { text: string }[];
  };
  return (JSON.parse(result.content[0]?.text ?? '{}') as EverythingEnv).PORT;
}

const portOf = (upstream: Upstream) => new URL(upstream.url).port;

/** The HTTP status of a failed call: the v1 client's `code`, the v2 client's `status`. */
function statusOf(err: { code?: unknown; status?: unknown }): unknown {
  return typeof err.status === 'number' ? err.status : err.code;
}

/**
 * A POST with the request target exactly as written: `fetch` (WHATWG URL) would resolve
 * `%2e%2e` and `..` before sending, and a hostile client does not.
 */
function rawPost(base: string, path: string, body: string): Promise<{ status: number; json: unknown }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        hostname,
        port,
        path,
        method: 'POST',
        headers: {
          ...MCP_POST_HEADERS,
          authorization: `Bearer ${API_KEY}`,
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString()) }),
        );
      },
    );
    req.once('error', reject);
    req.end(body);
  });
}

beforeAll(async () => {
  const [everything, sse, echo] = await Promise.all([
    Promise.all([
      startEverything('streamableHttp', 'everything-1'),
      startEverything('streamableHttp', 'everything-2'),
    ]),
    Promise.all([startEverything('sse', 'everything-sse-1'), startEverything('sse', 'everything-sse-2')]),
    Promise.all([startHeaderEcho('echo-1'), startHeaderEcho('echo-2')]),
  ]);
  upstreams.everything = everything;
  upstreams['everything-sse'] = sse;
  upstreams.echo = echo;
  cluster = await startCluster({
    nodes: 2,
    namePrefix: 'gateway',
    env: {
      AUTH_MODE: 'apikey',
      AUTH_API_KEYS: API_KEY,
      ECHO_UPSTREAM_TOKEN: UPSTREAM_SECRET,
      UPSTREAMS: JSON.stringify({
        everything: { urls: everything.map((u) => u.url) },
        'everything-sse': { urls: sse.map((u) => u.url) },
        echo: { urls: echo.map((u) => u.url), headersFromEnv: { 'X-Upstream-Token': 'ECHO_UPSTREAM_TOKEN' } },
      }),
    },
  });
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
  await Promise.all(
    Object.values(upstreams)
      .flat()
      .map((upstream) => upstream.kill()),
  );
});

describe('the gateway in front of two replicas of stateful MCP servers', () => {
  it('serves every call of v1 and v2 Streamable HTTP clients, with sessions spread over both replicas', async () => {
    const clients = await Promise.all([
      ...Array.from({ length: 4 }, () => connectV1(target('everything'))),
      ...Array.from({ length: 4 }, () => connectV2(target('everything'))),
    ]);
    const replicas = new Set<string>();
    for (const { client } of clients) {
      const tools = await client.listTools();
      expect(tools.tools.map((tool) => tool.name)).toContain('echo');
      const replica = await replicaOf(client);
      for (let i = 0; i < 3; i++) {
        expect(await client.callTool({ name: 'echo', arguments: { message: `call ${i}` } })).toMatchObject({
          content: [{ type: 'text', text: `Echo: call ${i}` }],
        });
        // Every call of a session reaches the same replica, whichever gateway node nginx picked.
        expect(await replicaOf(client)).toBe(replica);
      }
      replicas.add(replica);
    }
    expect(replicas).toEqual(new Set(upstreams.everything?.map(portOf)));
    // Consecutive requests went through both gateway nodes.
    const served = new Set(
      (await cluster.nginx.accessLines())
        .filter((l) => l.request.includes('/servers/everything/'))
        .flatMap((l) => l.upstreams),
    );
    expect(served.size).toBe(2);
    await Promise.all(clients.map(({ client }) => client.close()));
  });

  it('serves every call of 2024-11-05 HTTP+SSE clients, with streams spread over both replicas', async () => {
    const clients = await Promise.all(Array.from({ length: 4 }, () => connectSse(target('everything-sse'))));
    const replicas = new Set<string>();
    for (const { client } of clients) {
      const replica = await replicaOf(client);
      for (let i = 0; i < 3; i++) {
        expect(await client.callTool({ name: 'echo', arguments: { message: `sse ${i}` } })).toMatchObject({
          content: [{ type: 'text', text: `Echo: sse ${i}` }],
        });
      }
      expect(await replicaOf(client)).toBe(replica);
      replicas.add(replica);
    }
    expect(replicas).toEqual(new Set(upstreams['everything-sse']?.map(portOf)));
    await Promise.all(clients.map(({ client }) => client.close()));
  });

  it('announces a gateway endpoint that hides the upstream session id', async () => {
    const stream = await openRawSse(target('everything-sse'));
    expect(stream.endpoint).toMatch(/^\/servers\/everything-sse\/message\?sessionId=gw1\.[A-Za-z0-9_-]+$/);
    stream.close();
  });

  it('never forwards the client Authorization header, and adds the upstream credential from its secret', async () => {
    const replicas = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const { client } = await connectV1(target('echo'));
      const result = (await client.callTool({ name: 'received', arguments: {} })) as unknown as {
        structuredContent: { instance: string; headers: Record<string, string> };
      };
      const { headers, instance } = result.structuredContent;
      expect(headers.authorization).toBeUndefined();
      expect(JSON.stringify(headers)).not.toContain(API_KEY);
      expect(headers['x-upstream-token']).toBe(UPSTREAM_SECRET);
      // The upstream sees its own session id, never the sealed one the client holds.
      expect(headers['mcp-session-id']).toMatch(/^[0-9a-f-]{36}$/);
      replicas.add(instance);
      await client.close();
    }
    expect(replicas).toEqual(new Set(['echo-1', 'echo-2']));
  });

  it('puts the upstreams behind the app authentication', async () => {
    const anonymous = await gatewayFetch({ base: cluster.url, upstream: 'echo' }, 'mcp', {
      method: 'POST',
      headers: MCP_POST_HEADERS,
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer /);
  });

  describe('hostile paths and names', () => {
    const post = (path: string, body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' })) =>
      rawPost(cluster.url, path, body);

    it.each([
      ['an unknown upstream', '/servers/nope/mcp', 404],
      ['a dot-dot name', '/servers/%2e%2e/mcp', 404],
      ['a dot-dot name, plainly', '/servers/../mcp', 404],
      ['an upper-case name', '/servers/Everything/mcp', 404],
      ['no path after the name', '/servers/everything', 404],
      ['an encoded dot-dot in the rest', '/servers/everything/%2e%2e/mcp', 400],
      ['an encoded slash', '/servers/everything/..%2f..%2fmcp', 400],
      ['a double slash', '/servers/everything//mcp', 400],
    ])('refuses %s with a JSON-RPC error, routing nowhere', async (_what, path, status) => {
      const before = (await cluster.nginx.accessLines()).length;
      const answer = await post(path);
      expect(answer.status).toBe(status);
      expect(answer.json).toMatchObject({ jsonrpc: '2.0', error: { code: expect.any(Number) }, id: null });
      // nginx passed the target on as sent, and a node answered it: the gateway refused it.
      // nginx writes a line after the answer has gone out, so the previous test's last line may land after
      // `before`: look only at this request's lines.
      const request = `POST ${path} HTTP/1.1`;
      const lines = await waitFor('the access log line', async () => {
        const after = (await cluster.nginx.accessLines())
          .slice(before)
          .filter((line) => line.request === request);
        return after.length > 0 ? after : undefined;
      });
      expect(lines.map((line) => [line.request, line.status])).toEqual([[request, status]]);
    });

    it('answers 404 for a forged or foreign session token', async () => {
      const { transport, client } = await connectV1(target('echo'));
      const token = transport.sessionId ?? '';
      const withToken = (upstream: string, sessionId: string) =>
        gatewayFetch(target(upstream), 'mcp', {
          method: 'POST',
          headers: { ...MCP_POST_HEADERS, 'mcp-session-id': sessionId },
          body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' }),
        });
      expect((await withToken('echo', token)).status).toBe(200);
      // Another upstream's path: the token is bound to `echo`.
      const foreign = await withToken('everything', token);
      expect(foreign.status).toBe(404);
      expect(await foreign.json()).toMatchObject({ error: { code: -32001 } });
      // One character changed; and an upstream's own raw session id.
      const flipped = `${token.slice(0, -2)}${token.at(-2) === 'A' ? 'B' : 'A'}${token.at(-1)}`;
      expect((await withToken('echo', flipped)).status).toBe(404);
      expect((await withToken('echo', '6b1f2d3c-0000-4000-8000-000000000000')).status).toBe(404);
      await client.close();
    });

    it('refuses a body over the limit with 413 before it reaches an upstream', async () => {
      const answer = await post(
        '/servers/echo/mcp',
        JSON.stringify({ pad: 'x'.repeat(4 * 1024 * 1024 + 10) }),
      );
      expect(answer.status).toBe(413);
      expect(answer.json).toMatchObject({ error: { message: expect.stringContaining('Payload too large') } });
    });
  });

  it('answers 404 to the sessions of a replica killed with -9, without hanging, and new sessions succeed', async () => {
    const [doomed, survivor] = upstreams.everything as [Upstream, Upstream];
    const [doomedSse] = upstreams['everything-sse'] as [Upstream, Upstream];
    // Enough sessions that both replicas hold some.
    const sessions = await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const connected =
          i % 2 ? await connectV2(target('everything')) : await connectV1(target('everything'));
        return { ...connected, replica: await replicaOf(connected.client) };
      }),
    );
    expect(new Set(sessions.map((s) => s.replica)).size).toBe(2);
    // 2024 streams, opened by hand to see the stream end and the POST answer on the wire.
    const streams = await Promise.all(Array.from({ length: 4 }, () => openRawSse(target('everything-sse'))));

    await Promise.all([doomed.kill('SIGKILL'), doomedSse.kill('SIGKILL')]);

    for (const session of sessions) {
      const started = Date.now();
      const outcome = await session.client.callTool({ name: 'echo', arguments: { message: 'after' } }).then(
        () => 'ok',
        (err: { code?: unknown; status?: unknown }) => statusOf(err),
      );
      expect(Date.now() - started).toBeLessThan(NO_HANG_MS);
      expect(outcome).toBe(session.replica === portOf(doomed) ? 404 : 'ok');
    }

    let gone = 0;
    for (const stream of streams) {
      const started = Date.now();
      const answer = await fetch(`${cluster.url}${stream.endpoint}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
      });
      expect(Date.now() - started).toBeLessThan(NO_HANG_MS);
      if (answer.status === 404) {
        gone++;
        expect(await answer.json()).toMatchObject({
          error: { code: -32001, data: { reason: 'upstream_instance_gone' } },
        });
        // Its stream was closed, so that the client reconnects.
        expect(['ended', 'broken']).toContain(await stream.ended);
      } else {
        expect(answer.status).toBe(202);
        stream.close();
      }
    }
    expect(gone).toBeGreaterThan(0);
    expect(gone).toBeLessThan(streams.length);

    // New sessions of both transports go to what is left.
    for (let i = 0; i < 3; i++) {
      const { client } = await connectV1(target('everything'));
      expect(await replicaOf(client)).toBe(portOf(survivor));
      await client.close();
      const sse = await connectSse(target('everything-sse'));
      expect(await sse.client.callTool({ name: 'echo', arguments: { message: 'new' } })).toMatchObject({
        content: [{ text: 'Echo: new' }],
      });
      await sse.client.close();
    }
    await Promise.all(sessions.map(({ client }) => client.close().catch(() => undefined)));
  });
});
