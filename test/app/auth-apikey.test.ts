import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AppNode,
  safeJson,
  spawnApp,
  startAppNode,
  startTwoNodes,
  type TwoNodes,
} from '../helpers/app-node.js';
import {
  connectLegacyClient,
  connectModernClient,
  connectSseClient,
  structuredOf,
} from '../helpers/clients.js';
import { initializeRequest } from '../helpers/raw-streamable.js';
import { apiKeyPrincipalOf, MCP_POST_HEADERS, sha256Entry, snapshotRedis } from '../helpers/security.js';

const KEY_A = `alice-${randomBytes(24).toString('base64url')}`;
const KEY_B = `bob-${randomBytes(24).toString('base64url')}`;
const INITIALIZE = initializeRequest('raw');

describe('AUTH_MODE=apikey on a two-node cluster', () => {
  let nodes: TwoNodes;
  let assertions: Redis;
  let a: AppNode;
  let b: AppNode;

  beforeAll(async () => {
    // Alice's key is configured in plaintext, Bob's only as its SHA-256 digest.
    nodes = await startTwoNodes('auth', {
      AUTH_MODE: 'apikey',
      AUTH_API_KEYS: `${KEY_A},${sha256Entry(KEY_B)}`,
    });
    ({ a, b } = nodes);
    assertions = nodes.redis.client();
  });
  afterAll(() => nodes?.stop());

  it.each([
    ['no credential', undefined],
    ['an unknown key', 'Bearer not-a-configured-key-0123456789'],
    ['a key in the wrong scheme', `Basic ${KEY_A}`],
  ])('refuses %s on every MCP route with 401 and an RFC 9728 challenge', async (_case, authorization) => {
    const headers: Record<string, string> = {
      ...MCP_POST_HEADERS,
      ...(authorization ? { authorization } : {}),
    };
    for (const [method, path, body] of [
      ['POST', '/mcp', JSON.stringify(INITIALIZE)],
      ['GET', '/sse', undefined],
      ['POST', '/messages?sessionId=x', '{}'],
    ] as const) {
      const response = await fetch(new URL(path, a.url), { method, headers, body });
      expect(response.status, `${method} ${path}`).toBe(401);
      const challenge = response.headers.get('www-authenticate') ?? '';
      expect(challenge).toMatch(/^Bearer /);
      expect(challenge).toContain(`resource_metadata="${a.url}/.well-known/oauth-protected-resource/mcp"`);
      expect(await response.json()).toMatchObject({
        jsonrpc: '2.0',
        error: { code: -32000, data: { error: 'invalid_token' } },
        id: null,
      });
    }
  });

  it('serves the protected resource metadata the challenge points at, without a credential', async () => {
    const response = await fetch(new URL('/.well-known/oauth-protected-resource/mcp', a.url));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      resource: `${a.url}/mcp`,
      bearer_methods_supported: ['header'],
      resource_name: 'mcp-fleet',
    });
  });

  it('keeps probes and scrapes open: /health, /ready and /metrics need no credential', async () => {
    for (const path of ['/health', '/ready', '/metrics']) {
      expect((await fetch(new URL(path, a.url))).status, path).toBe(200);
    }
  });

  it('admits a plaintext-configured key and a digest-configured key, in every era, and tools see who calls', async () => {
    const legacy = await connectLegacyClient(() => a.url, 'alice-legacy', { token: KEY_A });
    const modern = await connectModernClient(() => b.url, 'bob-modern', { token: KEY_B });
    const sse = await connectSseClient(() => a.url, { token: KEY_B });
    const whoLegacy = structuredOf(await legacy.client.callTool({ name: 'node_info', arguments: {} }));
    const whoModern = structuredOf(await modern.client.callTool({ name: 'node_info', arguments: {} }));
    const whoSse = structuredOf(await sse.client.callTool({ name: 'node_info', arguments: {} }));
    expect(whoLegacy.principal).toBe(apiKeyPrincipalOf(KEY_A));
    expect(whoModern.principal).toBe(apiKeyPrincipalOf(KEY_B));
    expect(whoSse.principal).toBe(apiKeyPrincipalOf(KEY_B));
    await Promise.all([legacy.client.close(), modern.client.close(), sse.client.close()]);
  });

  it('mints session ids with at least 128 bits from a CSPRNG: 32 base64url characters, all distinct', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const response = await fetch(new URL('/mcp', a.url), {
        method: 'POST',
        headers: { ...MCP_POST_HEADERS, authorization: `Bearer ${KEY_A}` },
        body: JSON.stringify(INITIALIZE),
      });
      expect(response.status).toBe(200);
      const id = response.headers.get('mcp-session-id') ?? '';
      expect(id).toMatch(/^[A-Za-z0-9_-]{32}$/); // 32 × 6 = 192 bits
      ids.add(id);
      await response.body?.cancel();
    }
    expect(ids.size).toBe(20);
  });

  it("answers another principal's session id with 404, exactly like an unknown id, on any node, and leaves the session alone", async () => {
    const alice = await connectLegacyClient(() => a.url, 'alice', { token: KEY_A });
    const sessionId = alice.sessionId() as string;
    await alice.client.callTool({ name: 'remember', arguments: { key: 'secret', value: 'alice-only' } });
    const before = await snapshotRedis(assertions, 'test:session:', undefined);

    const ping = (id: string, node: AppNode, key: string) =>
      fetch(new URL('/mcp', node.url), {
        method: 'POST',
        headers: {
          ...MCP_POST_HEADERS,
          authorization: `Bearer ${key}`,
          'mcp-session-id': id,
          'mcp-protocol-version': '2025-06-18',
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 7,
          method: 'tools/call',
          params: { name: 'recall', arguments: { key: 'secret' } },
        }),
      });
    const unknown = await ping(randomBytes(24).toString('base64url'), a, KEY_B);
    const unknownBody = await unknown.json();
    for (const node of [a, b]) {
      const stolen = await ping(sessionId, node, KEY_B);
      expect(stolen.status).toBe(404);
      expect(await stolen.json()).toEqual(unknownBody);
    }
    expect(unknown.status).toBe(404);
    // Bob's attempts neither read nor kept alive Alice's session: Redis is byte-for-byte the same.
    expect(await snapshotRedis(assertions, 'test:session:', undefined)).toEqual(before);
    // The 2024 era too: resuming Alice's session over SSE with Bob's key is refused.
    const resume = await fetch(new URL(`/sse?sessionId=${sessionId}`, b.url), {
      headers: { accept: 'text/event-stream', authorization: `Bearer ${KEY_B}` },
    });
    expect(resume.status).toBe(404);
    await resume.body?.cancel();
    // And Alice carries on.
    expect(
      structuredOf(await alice.client.callTool({ name: 'recall', arguments: { key: 'secret' } })),
    ).toMatchObject({
      value: 'alice-only',
    });
    await alice.client.close();
  });

  it('scopes 2026 memory by principal: what Alice remembers, Bob cannot recall', async () => {
    const alice = await connectModernClient(() => a.url, 'alice', { token: KEY_A });
    const bob = await connectModernClient(() => b.url, 'bob', { token: KEY_B });
    await alice.client.callTool({ name: 'remember', arguments: { key: 'plan', value: 'alice-2026' } });
    expect(
      structuredOf(await bob.client.callTool({ name: 'recall', arguments: { key: 'plan' } })),
    ).toMatchObject({
      found: false,
    });
    expect(
      structuredOf(await alice.client.callTool({ name: 'recall', arguments: { key: 'plan' } })),
    ).toMatchObject({
      value: 'alice-2026',
    });
    await Promise.all([alice.client.close(), bob.client.close()]);
  });

  it('writes audit lines for refused credentials and for tool calls, and never logs a key', async () => {
    const logs = [...a.logs, ...b.logs];
    const failures = logs.map(safeJson).filter((line) => line?.event === 'auth_failure');
    expect(failures.length).toBeGreaterThan(0);
    expect(failures[0]).toMatchObject({
      level: 'warn',
      status: 401,
      reason: 'invalid_token',
      ip: expect.any(String),
    });
    const calls = logs.map(safeJson).filter((line) => line?.event === 'tool_call');
    expect(calls).toContainEqual(
      expect.objectContaining({
        tool: 'remember',
        principal: apiKeyPrincipalOf(KEY_A),
        status: 'ok',
        durationMs: expect.any(Number),
      }),
    );
    const joined = logs.join('\n');
    expect(joined).not.toContain(KEY_A);
    expect(joined).not.toContain(KEY_B);
    expect(joined).not.toContain('alice-only'); // argument values stay out of the audit trail
  });
});

describe('refusing to start insecurely', () => {
  it.each([
    [{ NODE_ENV: 'production' }, 'AUTH_MODE: required when NODE_ENV=production'],
    [{ AUTH_MODE: 'apikey' }, 'AUTH_API_KEYS: required when AUTH_MODE=apikey'],
    [{ AUTH_MODE: 'apikey', AUTH_API_KEYS: 'short' }, 'AUTH_API_KEYS: expected comma-separated keys'],
    [
      { AUTH_MODE: 'oauth', OAUTH_ISSUER: 'https://issuer.example' },
      'OAUTH_AUDIENCE: required when AUTH_MODE=oauth',
    ],
    [{ TRUST_PROXY: 'true' }, 'TRUST_PROXY: expected false, a hop count'],
  ])('exits 78 for %o, naming the variable and never echoing its value', async (env, expected) => {
    const { child, logs } = spawnApp(env as Record<string, string>);
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(78);
    const line = JSON.parse(logs.join('')) as { problems: string[] };
    expect(line.problems.join('\n')).toContain(expected);
    if ('AUTH_API_KEYS' in env) expect(logs.join('\n')).not.toContain(`"${env.AUTH_API_KEYS}"`);
  });

  it('starts in production when AUTH_MODE=none is explicit', async () => {
    const node = await startAppNode({ env: { NODE_ENV: 'production', AUTH_MODE: 'none' } });
    expect((await fetch(new URL('/health', node.url))).status).toBe(200);
    await node.stop();
  });
});
