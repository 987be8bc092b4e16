import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppNode, clusterEnv, startAppNode, startTwoNodes, type TwoNodes } from '../helpers/app-node.js';
import {
  connectLegacyClient,
  connectModernClient,
  connectSseClient,
  structuredOf,
  textOf,
} from '../helpers/clients.js';
import { waitFor } from '../helpers/ports.js';
import { initializeRequest } from '../helpers/raw-streamable.js';
import type { TestRedis } from '../helpers/redis-server.js';
import { apiKeyPrincipalOf, MCP_POST_HEADERS } from '../helpers/security.js';

const newKey = (name: string) => `${name}-${randomBytes(24).toString('base64url')}`;
const KEYS = {
  alice: newKey('alice'),
  bob: newKey('bob'),
  carol: newKey('carol'),
  dave: newKey('dave'),
  erin: newKey('erin'),
  frank: newKey('frank'),
  grace: newKey('grace'),
  heidi: newKey('heidi'),
  ivan: newKey('ivan'),
  judy: newKey('judy'),
};
const INITIALIZE = initializeRequest('raw');

/** A 2025 GET stream by hand, on an existing session: the status, and the body when it is a refusal. */
async function openGet(node: AppNode, key: string, sessionId: string) {
  const controller = new AbortController();
  const response = await fetch(new URL('/mcp', node.url), {
    headers: {
      accept: 'text/event-stream',
      authorization: `Bearer ${key}`,
      'mcp-session-id': sessionId,
      'mcp-protocol-version': '2025-06-18',
    },
    signal: controller.signal,
  });
  const body = response.status === 200 ? undefined : await response.json();
  return { status: response.status, body, close: () => controller.abort() };
}

type Client = Awaited<ReturnType<typeof connectModernClient>>['client'];
const remember = (client: Pick<Client, 'callTool'>, key: string, value: string) =>
  client.callTool({ name: 'remember', arguments: { key, value } });

/** A 2025 initialize by hand, so that a refusal's status and body can be read. */
function initialize(node: AppNode, key: string) {
  return fetch(new URL('/mcp', node.url), {
    method: 'POST',
    headers: { ...MCP_POST_HEADERS, authorization: `Bearer ${key}` },
    body: JSON.stringify(INITIALIZE),
  });
}

/** `GET /sse` by hand: the status, and the body when it is a refusal (the stream is left open otherwise). */
async function openSse(node: AppNode, key: string, path = '/sse') {
  const controller = new AbortController();
  const response = await fetch(new URL(path, node.url), {
    headers: { accept: 'text/event-stream', authorization: `Bearer ${key}` },
    signal: controller.signal,
  });
  const body = response.status === 200 ? undefined : await response.json();
  return { status: response.status, body, close: () => controller.abort() };
}

const refusal = (limit: string, max: number) => ({
  jsonrpc: '2.0',
  error: {
    code: -32000,
    message: expect.stringContaining(`Quota exceeded (${limit} = ${max})`),
    data: { reason: 'quota_exceeded', limit, max },
  },
  id: null,
});

describe('quotas per principal, shared by two nodes through Redis', () => {
  let nodes: TwoNodes;
  let redis: TestRedis;
  let assertions: Redis;
  let a: AppNode;
  let b: AppNode;
  const quotaEnv = {
    AUTH_MODE: 'apikey',
    AUTH_API_KEYS: Object.values(KEYS).join(','),
    QUOTA_MEMORY_KEYS: '3',
    QUOTA_MEMORY_BYTES: '1000',
    QUOTA_SESSIONS_PER_PRINCIPAL: '3',
    QUOTA_STREAMS_PER_PRINCIPAL: '2',
    SSE_HEARTBEAT_SECONDS: '1',
  };

  beforeAll(async () => {
    nodes = await startTwoNodes('quota', quotaEnv);
    ({ redis, a, b } = nodes);
    assertions = redis.client();
  });
  afterAll(() => nodes?.stop());

  it('caps what a 2026 caller stores (keys, then bytes) with a tool error naming the limit; another caller is unaffected', async () => {
    const alice = (await connectModernClient(() => a.url, 'alice', { token: KEYS.alice })).client;
    const aliceOnB = (await connectModernClient(() => b.url, 'alice-b', { token: KEYS.alice })).client;
    for (const key of ['k1', 'k2'])
      expect(textOf(await remember(alice, key, 'x'))).toBe(`Remembered ${key}.`);
    expect(textOf(await remember(aliceOnB, 'k3', 'x'))).toBe('Remembered k3.');

    const overKeys = await remember(aliceOnB, 'k4', 'x');
    expect(overKeys.isError).toBe(true);
    expect(textOf(overKeys)).toBe(
      'Quota exceeded (QUOTA_MEMORY_KEYS = 3): this caller already stores 3 keys, the most allowed. Nothing was stored; overwrite an existing key instead.',
    );
    expect(structuredOf(overKeys)).toEqual({ reason: 'quota_exceeded', limit: 'QUOTA_MEMORY_KEYS', max: 3 });

    // Overwriting adds no key. 9 bytes are stored (3 × key + value); k1 = 992 bytes makes exactly 1000.
    expect(textOf(await remember(alice, 'k1', 'y'.repeat(992)))).toBe('Remembered k1.');
    const overBytes = await remember(alice, 'k2', 'z'.repeat(2));
    expect(overBytes.isError).toBe(true);
    expect(structuredOf(overBytes)).toEqual({
      reason: 'quota_exceeded',
      limit: 'QUOTA_MEMORY_BYTES',
      max: 1000,
    });
    expect(textOf(overBytes)).toContain('this caller stores 1000 bytes of keys and values');
    // Nothing changed, and shrinking a value is always allowed.
    expect(structuredOf(await alice.callTool({ name: 'recall', arguments: { key: 'k2' } }))).toMatchObject({
      value: 'x',
    });
    expect(textOf(await remember(aliceOnB, 'k1', ''))).toBe('Remembered k1.');
    expect(textOf(await remember(alice, 'k2', 'z'.repeat(900)))).toBe('Remembered k2.');

    // Bob, on either node, has his own quota.
    const bob = (await connectModernClient(() => b.url, 'bob', { token: KEYS.bob })).client;
    for (const key of ['k1', 'k2', 'k3'])
      expect(textOf(await remember(bob, key, 'v'))).toBe(`Remembered ${key}.`);
    await Promise.all([alice.close(), aliceOnB.close(), bob.close()]);
  });

  it('counts atomically: of concurrent writes on both nodes, exactly the quota is stored', async () => {
    const clients = await Promise.all(
      [a, b, a, b].map(
        async (node, i) => (await connectModernClient(() => node.url, `c${i}`, { token: KEYS.heidi })).client,
      ),
    );
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => remember(clients[i % clients.length]!, `key-${i}`, 'v')),
    );
    expect(results.filter((result) => !result.isError)).toHaveLength(3);
    expect(results.filter((result) => result.isError).map((result) => structuredOf(result).limit)).toEqual(
      Array(9).fill('QUOTA_MEMORY_KEYS'),
    );
    const stored = await assertions.hgetall(`test:principal:{${apiKeyPrincipalOf(KEYS.heidi)}}:memory`);
    // Three values and the script's byte count (kept under the empty field, which no key can be).
    expect(Object.keys(stored).filter((field) => field !== '')).toHaveLength(3);
    expect(stored['']).toBe(String(3 * ('key-0'.length + 1)));
    await Promise.all(clients.map((client) => client.close()));
  });

  it('counts values stored before quotas existed, once, on the first write', async () => {
    const memory = `test:principal:{${apiKeyPrincipalOf(KEYS.ivan)}}:memory`;
    await assertions.hset(memory, 'a', 'xx', 'b', 'yy');
    const ivan = (await connectModernClient(() => a.url, 'ivan', { token: KEYS.ivan })).client;
    expect(textOf(await remember(ivan, 'c', 'zz'))).toBe('Remembered c.');
    expect(await assertions.hget(memory, '')).toBe('9');
    expect(structuredOf(await remember(ivan, 'd', 'z')).limit).toBe('QUOTA_MEMORY_KEYS');
    await ivan.close();
  });

  it('caps a 2025 session’s own memory the same way', async () => {
    const { client } = await connectLegacyClient(() => a.url, 'alice-2025', { token: KEYS.alice });
    const rememberIn2025 = (key: string) =>
      client.callTool({ name: 'remember', arguments: { key, value: 'v' } });
    for (const key of ['s1', 's2', 's3'])
      expect(textOf(await rememberIn2025(key))).toBe(`Remembered ${key}.`);
    const over = await rememberIn2025('s4');
    expect(over.isError).toBe(true);
    expect(textOf(over)).toContain(
      'Quota exceeded (QUOTA_MEMORY_KEYS = 3): this session already stores 3 keys',
    );
    await client.close();
  });

  it('caps 2025 sessions per principal across nodes with 429 and a JSON-RPC error; DELETE frees a place', async () => {
    const opened: string[] = [];
    for (const node of [a, b, a]) {
      const response = await initialize(node, KEYS.carol);
      expect(response.status).toBe(200);
      opened.push(response.headers.get('mcp-session-id') as string);
      await response.body?.cancel();
    }
    const refused = await initialize(b, KEYS.carol);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('mcp-session-id')).toBeNull();
    expect(await refused.json()).toEqual(refusal('QUOTA_SESSIONS_PER_PRINCIPAL', 3));

    // Dave is not affected, and a real client of Carol's sees the refusal too.
    const dave = await connectLegacyClient(() => b.url, 'dave', { token: KEYS.dave });
    await expect(connectLegacyClient(() => a.url, 'carol', { token: KEYS.carol })).rejects.toThrow(
      /QUOTA_SESSIONS_PER_PRINCIPAL/,
    );

    const ended = await fetch(new URL('/mcp', b.url), {
      method: 'DELETE',
      headers: {
        authorization: `Bearer ${KEYS.carol}`,
        'mcp-session-id': opened[0]!,
        'mcp-protocol-version': '2025-06-18',
      },
    });
    expect(ended.status).toBe(200);
    const carol = await connectLegacyClient(() => a.url, 'carol', { token: KEYS.carol });
    expect(textOf(await carol.client.callTool({ name: 'echo', arguments: { text: 'in' } }))).toBe('in');
    await Promise.all([dave.client.close(), carol.client.close()]);
  });

  it('caps 2024 streams and sessions per principal; a closed stream frees its place, a resumed one takes none', async () => {
    const first = await connectSseClient(() => a.url, { token: KEYS.erin });
    const second = await connectSseClient(() => b.url, { token: KEYS.erin });
    const overStreams = await openSse(a, KEYS.erin);
    expect(overStreams.status).toBe(429);
    expect(overStreams.body).toEqual(refusal('QUOTA_STREAMS_PER_PRINCIPAL', 2));
    // Frank has his own.
    const frank = await connectSseClient(() => a.url, { token: KEYS.frank });

    // Closing a stream frees its place at once: Erin's third session opens.
    const firstSession = structuredOf<{ sessionId: string }>(
      await first.client.callTool({ name: 'node_info', arguments: {} }),
    ).sessionId;
    await first.client.close();
    const third = await waitFor('a place for a stream', async () => {
      const attempt = await openSse(b, KEYS.erin);
      if (attempt.status === 200) return attempt;
      expect(attempt.body).toEqual(refusal('QUOTA_STREAMS_PER_PRINCIPAL', 2));
      return undefined;
    });

    // Three sessions are alive (the first one's record outlives its stream): a fourth is refused
    // even with a stream free, but resuming the first session is no new session.
    await second.client.close();
    const overSessions = await waitFor('the session quota to be what refuses', async () => {
      const attempt = await openSse(a, KEYS.erin);
      return attempt.status === 429 &&
        (attempt.body as { error: { data: { limit: string } } }).error.data.limit ===
          'QUOTA_SESSIONS_PER_PRINCIPAL'
        ? attempt
        : undefined;
    });
    expect(overSessions.body).toEqual(refusal('QUOTA_SESSIONS_PER_PRINCIPAL', 3));
    const resumed = await connectSseClient(() => b.url, {
      token: KEYS.erin,
      path: `/sse?sessionId=${firstSession}`,
    });
    expect(structuredOf(await resumed.client.callTool({ name: 'node_info', arguments: {} })).sessionId).toBe(
      firstSession,
    );
    // Two streams are open (the third session's, the resumed one's): the cap. Resuming the same
    // session again, on the other node, while its stream on B is still open (a client reconnecting
    // after a network blip) replaces that stream: it takes no second place.
    const again = await openSse(a, KEYS.erin, `/sse?sessionId=${firstSession}`);
    expect(again.status).toBe(200);
    again.close();
    third.close();
    await Promise.all([resumed.client.close(), frank.client.close()]);
  });

  it('caps 2025 GET streams per principal the same way; a closed one frees its place', async () => {
    const sessions: string[] = [];
    for (const node of [a, b, a]) {
      const response = await initialize(node, KEYS.judy);
      sessions.push(response.headers.get('mcp-session-id') as string);
      await response.body?.cancel();
    }
    const first = await openGet(a, KEYS.judy, sessions[0]!);
    const second = await openGet(b, KEYS.judy, sessions[1]!);
    expect([first.status, second.status]).toEqual([200, 200]);
    const over = await openGet(a, KEYS.judy, sessions[2]!);
    expect(over.status).toBe(429);
    expect(over.body).toEqual(refusal('QUOTA_STREAMS_PER_PRINCIPAL', 2));

    first.close();
    const third = await waitFor('a place for a GET stream', async () => {
      const attempt = await openGet(b, KEYS.judy, sessions[2]!);
      if (attempt.status === 200) return attempt;
      expect(attempt.body).toEqual(refusal('QUOTA_STREAMS_PER_PRINCIPAL', 2));
      return undefined;
    });
    second.close();
    third.close();
  });

  it('keeps the streams of a live node counted, and frees those of a node that dies within three heartbeats', async () => {
    const victim = await startAppNode({ nodeId: 'quota-victim', env: clusterEnv(redis.url, quotaEnv) });
    await connectSseClient(() => victim.url, { token: KEYS.grace });
    await connectSseClient(() => victim.url, { token: KEYS.grace });
    expect((await openSse(a, KEYS.grace)).status).toBe(429);
    // While the victim lives, it keeps its leases: still refused after more than one lease's length.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    expect((await openSse(a, KEYS.grace)).status).toBe(429);
    victim.kill('SIGKILL');
    await victim.exited;
    const admitted = await waitFor(
      'the dead node’s leases to expire',
      async () => {
        const attempt = await openSse(a, KEYS.grace);
        return attempt.status === 200 ? attempt : undefined;
      },
      15_000,
      250,
    );
    admitted.close();
  });
});

describe('quotas on the embedded store (no REDIS_URL)', () => {
  let node: AppNode;
  beforeAll(async () => {
    node = await startAppNode({
      env: {
        QUOTA_MEMORY_KEYS: '2',
        QUOTA_MEMORY_BYTES: '50',
        QUOTA_SESSIONS_PER_PRINCIPAL: '1',
        QUOTA_STREAMS_PER_PRINCIPAL: '1',
      },
    });
  });
  afterAll(() => node?.stop());

  it('counts stored values exactly as the Redis scripts do', async () => {
    const { client } = await connectModernClient(() => node.url, 'embedded');
    expect(textOf(await remember(client, 'a', 'é'.repeat(10)))).toBe('Remembered a.'); // 1 + 20 bytes
    expect(structuredOf(await remember(client, 'b', 'x'.repeat(29)))).toEqual({
      reason: 'quota_exceeded',
      limit: 'QUOTA_MEMORY_BYTES',
      max: 50,
    });
    expect(textOf(await remember(client, 'b', 'x'.repeat(28)))).toBe('Remembered b.'); // 50 bytes
    expect(structuredOf(await remember(client, 'c', ''))).toEqual({
      reason: 'quota_exceeded',
      limit: 'QUOTA_MEMORY_KEYS',
      max: 2,
    });
    await client.close();
  });

  it('leaves sessions and streams uncapped with AUTH_MODE=none: every caller is the same principal', async () => {
    const clients = await Promise.all(Array.from({ length: 4 }, () => connectSseClient(() => node.url)));
    await Promise.all(clients.map(({ client }) => client.close()));
  });
});

describe('LISTEN_MAX_SUBSCRIPTIONS: the 2026 listen streams one node serves', () => {
  it('refuses the listen stream past the cap with the SDK’s in-band error', async () => {
    const node = await startAppNode({ env: { LISTEN_MAX_SUBSCRIPTIONS: '1' } });
    const first = await connectModernClient(() => node.url, 'first');
    const second = await connectModernClient(() => node.url, 'second');
    const open = await first.client.listen({ toolsListChanged: true });
    await expect(second.client.listen({ toolsListChanged: true })).rejects.toThrow(
      /Subscription limit reached/,
    );
    await open.close();
    await Promise.all([first.client.close(), second.client.close()]);
    await node.stop();
  });
});
