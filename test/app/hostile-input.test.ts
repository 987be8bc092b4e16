import { randomBytes } from 'node:crypto';
import { createRequestStateCodec } from '@modelcontextprotocol/server';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppNode, clusterEnv, startAppNode, TEST_STATE_KEY } from '../helpers/app-node.js';
import { connectLegacyClient } from '../helpers/clients.js';
import { waitFor } from '../helpers/ports.js';
import { postInitialize } from '../helpers/raw-streamable.js';
import { startTestRedis, type TestRedis } from '../helpers/redis-server.js';
import {
  apiKeyPrincipalOf,
  MCP_POST_HEADERS,
  rawRequest,
  slowBody,
  snapshotRedis,
} from '../helpers/security.js';

/** Reproduce a run with HOSTILE_SEED=<the seed printed below>. */
const SEED = Number(process.env.HOSTILE_SEED ?? Date.now() % 2 ** 31);
const GENERATED_RUNS = 2_500;
const KEY_ALICE = `alice-${randomBytes(24).toString('base64url')}`;
const KEY_BOB = `bob-${randomBytes(24).toString('base64url')}`;
/** The limiter's own counters count every request, refused or not; everything else must not move. */
const RATE_LIMIT_KEYS = /^test:ratelimit:/;
const MODERN_META = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'hostile', version: '1' },
};

interface Case {
  label: string;
  headers: Record<string, string>;
  body: string;
  /** The statuses a correct server may answer; all are 4xx. */
  expect: number[];
}

describe('hostile input: the right 4xx, never a 5xx, no crash, no Redis change', () => {
  let redis: TestRedis;
  let client: Redis;
  let node: AppNode;
  let aliceSession: string;
  const outcomes = new Map<number, number>();
  const count = (status: number) => outcomes.set(status, (outcomes.get(status) ?? 0) + 1);

  beforeAll(async () => {
    redis = await startTestRedis();
    client = redis.client();
    node = await startAppNode({
      nodeId: 'hostile',
      env: clusterEnv(redis.url, {
        AUTH_MODE: 'apikey',
        AUTH_API_KEYS: `${KEY_ALICE},${KEY_BOB}`,
        REQUEST_BODY_TIMEOUT_SECONDS: '1',
        RATE_LIMIT_PER_IP: '1000000',
        RATE_LIMIT_PER_PRINCIPAL: '1000000',
      }),
    });
    const alice = await connectLegacyClient(() => node.url, 'alice', { token: KEY_ALICE });
    await alice.client.callTool({ name: 'remember', arguments: { key: 'k', value: 'alice' } });
    aliceSession = alice.sessionId() as string;
    await alice.transport.close(); // leave the session in the store; the transport just disconnects
    // Her GET stream held a stream lease until the node saw it close: let that settle before the
    // test takes its picture of Redis.
    await waitFor(
      "alice's stream lease to be released",
      async () => (await client.keys('test:principal:*:streams')).length === 0,
      10_000,
    );
  });
  afterAll(async () => {
    console.log(
      `hostile input: seed ${SEED}; outcomes by status ${JSON.stringify(Object.fromEntries([...outcomes].sort()))}, ` +
        `${[...outcomes.values()].reduce((a, b) => a + b, 0)} requests`,
    );
    await node?.stop();
    await redis?.close();
  });

  const send = async (c: Case) => {
    const response = await fetch(new URL('/mcp', node.url), {
      method: 'POST',
      headers: c.headers,
      body: c.body,
    });
    const text = await response.text();
    count(response.status);
    return { status: response.status, text };
  };
  const as = (key: string, extra: Record<string, string> = {}) => ({
    ...MCP_POST_HEADERS,
    authorization: `Bearer ${key}`,
    ...extra,
  });

  it(`answers ${GENERATED_RUNS} generated hostile requests with the expected 4xx and leaves Redis as it was`, async () => {
    const before = await snapshotRedis(client, 'test:', RATE_LIMIT_KEYS);
    const headerSafe = fc.stringMatching(/^[\x21-\x7e]{0,80}$/);
    const anyText = fc.oneof(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }), fc.string());
    const method = fc.oneof(
      fc.constantFrom('tools/call', 'tools/list', 'initialize', 'resources/read', 'ping', 'server/discover'),
      anyText,
    );
    const message = fc.record(
      {
        jsonrpc: fc.oneof(fc.constant('2.0'), anyText),
        id: fc.oneof(fc.integer(), anyText, fc.constant(null), fc.object()),
        method,
        params: fc.oneof(fc.object(), fc.jsonValue(), fc.constant(undefined)),
      },
      { requiredKeys: [] },
    );
    const hostileCase: fc.Arbitrary<Case> = fc.oneof(
      // Bodies that are not JSON at all, or JSON that no parser-in-strict-mode accepts as a message.
      fc.oneof(anyText, fc.string({ unit: 'binary-ascii' })).map((body) => ({
        label: 'not json',
        headers: as(KEY_ALICE),
        body: `${body}{`,
        expect: [400],
      })),
      // Well-formed JSON in arbitrary shapes, with no session: never a message the server can serve.
      fc.oneof(message, fc.array(message, { maxLength: 4 }), fc.jsonValue()).map((value) => ({
        label: 'wrong shape, no session',
        headers: as(KEY_BOB),
        body: JSON.stringify(value) ?? 'null',
        expect: [400, 404],
      })),
      // Alice's live session presented with Bob's key, carrying anything at all.
      fc.oneof(message, fc.array(message, { minLength: 1, maxLength: 4 })).map((value) => ({
        label: "other principal's session",
        headers: as(KEY_BOB, { 'mcp-session-id': aliceSession }),
        body: JSON.stringify(value),
        expect: [400, 404],
      })),
      // Session ids of every wrong length and alphabet.
      fc.tuple(headerSafe, message).map(([id, value]) => ({
        label: 'bad session id',
        headers: as(KEY_ALICE, { 'mcp-session-id': id }),
        body: JSON.stringify({ ...value, jsonrpc: '2.0', id: 1, method: 'tools/list' }),
        expect: [400, 404],
      })),
      // Credentials that are not configured keys.
      fc
        .tuple(headerSafe, fc.constantFrom('Bearer ', 'bearer ', 'Basic ', '', 'Bearer  '))
        .map(([token, scheme]) => ({
          label: 'bad credential',
          headers: { ...MCP_POST_HEADERS, authorization: `${scheme}${token}` },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
          expect: [401],
        })),
      // Content negotiation the transport refuses.
      fc.tuple(headerSafe, fc.boolean()).map(([value, asContentType]) => ({
        label: asContentType ? 'bad content-type' : 'bad accept',
        headers: asContentType
          ? as(KEY_ALICE, { 'content-type': `text/${value}` })
          : as(KEY_ALICE, { accept: `text/html, ${value.replace(/event-stream|json/g, '')}` }),
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
        expect: [asContentType ? 415 : 406],
      })),
      // Modern (2026) requests whose envelope or headers lie, or whose requestState is forged.
      fc.tuple(anyText, headerSafe).map(([state, name]) => ({
        label: '2026 forged state / header mismatch',
        headers: as(KEY_BOB, {
          'mcp-protocol-version': '2026-07-28',
          'mcp-method': 'tools/call',
          'mcp-name': `x${name}`,
        }),
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: {
            name: 'remember',
            arguments: { key: 'k', value: 'bob' },
            requestState: state,
            _meta: MODERN_META,
          },
        }),
        expect: [400],
      })),
    );

    let cases = 0;
    await fc.assert(
      fc.asyncProperty(hostileCase, async (c) => {
        cases++;
        const { status, text } = await send(c);
        if (!c.expect.includes(status)) {
          throw new Error(
            `${c.label}: expected ${c.expect.join(' or ')}, got ${status} ${text.slice(0, 200)}`,
          );
        }
        // Every refusal is a JSON-RPC error object, whatever the input.
        const parsed = JSON.parse(text) as { jsonrpc?: string; error?: { code?: number } };
        if (parsed.jsonrpc !== '2.0' || typeof parsed.error?.code !== 'number') {
          throw new Error(`${c.label}: not a JSON-RPC error: ${text.slice(0, 200)}`);
        }
      }),
      { seed: SEED, numRuns: GENERATED_RUNS, endOnFailure: true },
    );
    expect(cases).toBe(GENERATED_RUNS);
    expect([...outcomes.keys()].every((status) => status >= 400 && status < 500)).toBe(true);
    expect((await fetch(new URL('/health', node.url))).status).toBe(200);
    expect(await snapshotRedis(client, 'test:', RATE_LIMIT_KEYS)).toEqual(before);
  });

  it('answers a path it does not serve with 404 and a JSON-RPC error, not an HTML page', async () => {
    for (const [method, path] of [
      ['POST', '/nope'],
      ['GET', '/mcp/extra'],
      ['DELETE', '/'],
    ] as const) {
      const response = await fetch(new URL(path, node.url), {
        method,
        headers: as(KEY_ALICE),
        ...(method === 'POST' && { body: '{}' }),
      });
      count(response.status);
      expect(response.status, `${method} ${path}`).toBe(404);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await response.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32600 } });
    }
  });

  it('answers the named hostile cases with the right 4xx and leaves Redis as it was', async () => {
    const before = await snapshotRedis(client, 'test:', RATE_LIMIT_KEYS);
    // A raw initialize, so no client stream is left to touch the session after it expires.
    const initialized = await postInitialize(node.url, { clientName: 'expiring', headers: as(KEY_ALICE) });
    await initialized.text();
    const expiredId = initialized.headers.get('mcp-session-id') as string;
    expect(await client.pexpire(`test:session:{${expiredId}}`, 1)).toBe(1); // Redis expires it, as the TTL would
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await client.exists(`test:session:{${expiredId}}`)).toBe(0);
    const beforeNamed = await snapshotRedis(client, 'test:', RATE_LIMIT_KEYS);

    const call = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'echo', arguments: { text: 'x' } },
    });
    const named: Case[] = [
      {
        label: 'truncated JSON',
        headers: as(KEY_ALICE),
        body: '{"jsonrpc":"2.0","id":1,"method":',
        expect: [400],
      },
      { label: 'JSON null', headers: as(KEY_ALICE), body: 'null', expect: [400] },
      { label: 'JSON string', headers: as(KEY_ALICE), body: '"tools/list"', expect: [400] },
      {
        label: 'wrong jsonrpc version',
        headers: as(KEY_ALICE),
        body: '{"jsonrpc":"1.0","id":1,"method":"ping"}',
        expect: [400],
      },
      {
        label: 'numeric method',
        headers: as(KEY_ALICE),
        body: '{"jsonrpc":"2.0","id":{},"method":5}',
        expect: [400],
      },
      { label: 'batch of numbers', headers: as(KEY_ALICE), body: '[1,2,3]', expect: [400] },
      { label: 'empty batch', headers: as(KEY_ALICE), body: '[]', expect: [400] },
      {
        label: 'huge batch',
        headers: as(KEY_ALICE),
        body: JSON.stringify(
          Array.from({ length: 10_000 }, (_, id) => ({ jsonrpc: '2.0', id, method: 'ping' })),
        ),
        expect: [400],
      },
      {
        label: 'deep nesting',
        headers: as(KEY_ALICE),
        body: `${'['.repeat(50_000)}${']'.repeat(50_000)}`,
        expect: [400],
      },
      {
        label: 'huge body',
        headers: as(KEY_ALICE),
        body: `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"${'a'.repeat(5 * 1024 * 1024)}"}}`,
        expect: [413],
      },
      {
        label: 'lone surrogate method',
        headers: as(KEY_ALICE),
        body: '{"jsonrpc":"2.0","id":1,"method":"\\ud800"}',
        expect: [400],
      },
      {
        label: 'RTL and zero-width in method',
        headers: as(KEY_ALICE),
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/\u202e\u200blist' }),
        expect: [400],
      },
      {
        label: 'NUL in session id',
        headers: as(KEY_ALICE, { 'mcp-session-id': `${'a'.repeat(31)}%00` }),
        body: call,
        expect: [404],
      },
      {
        label: 'session id too short',
        headers: as(KEY_ALICE, { 'mcp-session-id': 'abc' }),
        body: call,
        expect: [404],
      },
      {
        label: 'session id too long',
        headers: as(KEY_ALICE, { 'mcp-session-id': 'a'.repeat(4096) }),
        body: call,
        expect: [404],
      },
      {
        label: "other principal's session",
        headers: as(KEY_BOB, { 'mcp-session-id': aliceSession }),
        body: call,
        expect: [404],
      },
      {
        label: 'expired session',
        headers: as(KEY_ALICE, { 'mcp-session-id': expiredId }),
        body: call,
        expect: [404],
      },
      {
        label: 'Redis key pattern as session id',
        headers: as(KEY_ALICE, { 'mcp-session-id': `${aliceSession.slice(0, 30)}}*` }),
        body: call,
        expect: [404],
      },
      {
        label: 'token with a comma (two credentials)',
        headers: as(`${KEY_ALICE}, Bearer ${KEY_BOB}`),
        body: call,
        expect: [401],
      },
      { label: '8 KB token', headers: as('x'.repeat(8 * 1024)), body: call, expect: [401] },
    ];
    for (const c of named) {
      const { status, text } = await send(c);
      expect(status, `${c.label}: ${text.slice(0, 200)}`).toBe(c.expect[0]);
    }

    // Headers a fetch client refuses to send: non-ASCII bytes and an obs-fold continuation.
    const latin1 = await rawRequest(node.url, {
      headers: { ...as(KEY_ALICE), 'mcp-session-id': 'é'.repeat(32) },
      body: call,
    });
    count(latin1.status);
    expect(latin1.status).toBe(404);
    const folded = await rawRequest(node.url, {
      headers: { ...as(KEY_ALICE), 'x-request-id': 'a\r\n injected: 1' },
      body: call,
    }).catch((err: Error) => ({ status: -1, body: err.message }));
    // Node's own parser refuses a header continuation before the app sees it (400), or the client refuses to send it.
    expect([400, -1]).toContain(folded.status);

    // A slowloris body is cut off with 408.
    const slow = await slowBody(node.url, 500, { authorization: `Bearer ${KEY_ALICE}` });
    count(408);
    expect(slow.response).toMatch(/^HTTP\/1\.1 408 /);

    // Multi-round-trip state sealed for Alice, replayed by Bob: refused as invalid.
    const codec = createRequestStateCodec({
      key: TEST_STATE_KEY,
      bind: (ctx) => (ctx.http?.authInfo?.clientId as string | undefined) ?? 'anonymous',
    });
    const aliceState = await codec.mint({ step: 1 }, {
      http: { authInfo: { clientId: apiKeyPrincipalOf(KEY_ALICE), token: '', scopes: [] } },
    } as never);
    const replay = (key: string) =>
      send({
        label: 'MRTR replay',
        headers: as(key, {
          'mcp-protocol-version': '2026-07-28',
          'mcp-method': 'tools/call',
          'mcp-name': 'echo',
        }),
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 3,
          method: 'tools/call',
          params: { name: 'echo', arguments: { text: 'hi' }, requestState: aliceState, _meta: MODERN_META },
        }),
        expect: [200],
      });
    const stolen = await replay(KEY_BOB);
    // The SDK answers at the protocol level: HTTP 200 carrying JSON-RPC -32602.
    expect(JSON.parse(stolen.text)).toMatchObject({
      error: { code: -32602, message: 'Invalid or expired requestState' },
    });

    expect((await fetch(new URL('/health', node.url))).status).toBe(200);
    expect(await snapshotRedis(client, 'test:', RATE_LIMIT_KEYS)).toEqual(beforeNamed);
    // Apart from the session set up to expire (its resumable-stream key keeps its own TTL), the
    // store holds what it held before this test.
    expect(Object.keys(beforeNamed).filter((key) => !key.includes(expiredId))).toEqual(Object.keys(before));

    // The same state is accepted from Alice: the refusal above was the binding, not the seal.
    const own = await replay(KEY_ALICE);
    expect(JSON.parse(own.text)).toMatchObject({ result: { content: [{ type: 'text', text: 'hi' }] } });
  });
});
