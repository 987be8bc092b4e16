import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppNode, startAppNode, startTwoNodes, type TwoNodes } from '../helpers/app-node.js';
import { waitFor } from '../helpers/ports.js';
import type { TestRedis } from '../helpers/redis-server.js';
import { apiKeyPrincipalOf, MCP_POST_HEADERS } from '../helpers/security.js';

const KEY_A = `a-${randomBytes(24).toString('base64url')}`;
const KEY_B = `b-${randomBytes(24).toString('base64url')}`;
const PING = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });

function post(node: AppNode, headers: Record<string, string> = {}) {
  return fetch(new URL('/mcp', node.url), {
    method: 'POST',
    headers: { ...MCP_POST_HEADERS, ...headers },
    body: PING,
  });
}

describe('a per-principal rate limit shared by two nodes through Redis', () => {
  let nodes: TwoNodes;
  let redis: TestRedis;
  let a: AppNode;
  let b: AppNode;

  beforeAll(async () => {
    nodes = await startTwoNodes('rl', {
      AUTH_MODE: 'apikey',
      AUTH_API_KEYS: `${KEY_A},${KEY_B}`,
      RATE_LIMIT_PER_PRINCIPAL: '6',
      RATE_LIMIT_WINDOW_SECONDS: '60',
    });
    ({ redis, a, b } = nodes);
  });
  afterAll(() => nodes?.stop());

  it('counts requests on both nodes against one budget, then answers 429 with Retry-After and a JSON-RPC error', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const response = await post(i % 2 === 0 ? a : b, { authorization: `Bearer ${KEY_A}` });
      statuses.push(response.status);
      await response.body?.cancel();
    }
    // A ping without a session is refused by the 2025 transport (400), but it was admitted and counted.
    expect(statuses.every((status) => status !== 429)).toBe(true);
    for (const node of [a, b]) {
      const limited = await post(node, { authorization: `Bearer ${KEY_A}` });
      expect(limited.status).toBe(429);
      const retryAfter = Number(limited.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(await limited.json()).toMatchObject({
        jsonrpc: '2.0',
        error: {
          code: -32000,
          data: { reason: 'rate_limited', scope: 'principal', retryAfterSeconds: retryAfter },
        },
        id: null,
      });
    }
    const counter = await redis.client().get(`test:ratelimit:principal:${apiKeyPrincipalOf(KEY_A)}`);
    expect(Number(counter)).toBe(8);
  });

  it('keeps other callers, probes and scrapes out of it', async () => {
    const other = await post(a, { authorization: `Bearer ${KEY_B}` });
    expect(other.status).not.toBe(429);
    for (const path of ['/health', '/ready', '/metrics']) {
      expect((await fetch(new URL(path, b.url))).status, path).toBe(200);
    }
  });

  it('logs each refusal with the principal', async () => {
    const refusals = () => [...a.logs, ...b.logs].filter((line) => line.includes('"event":"rate_limited"'));
    // A line reaches stdout a moment after its 429 reached the client.
    const lines = await waitFor('both refusals to be logged', () =>
      refusals().length >= 2 ? refusals() : undefined,
    ).catch(() => refusals());
    expect(lines.length).toBe(2);
    expect(lines[0]).toContain(apiKeyPrincipalOf(KEY_A));
  });
});

describe('a per-IP rate limit on the embedded store', () => {
  const nodes: AppNode[] = [];
  afterAll(() => Promise.all(nodes.map((node) => node.stop())));

  const burst = async (node: AppNode, forwardedFor: string, count: number) => {
    const statuses: number[] = [];
    for (let i = 0; i < count; i++) {
      const response = await post(node, { 'x-forwarded-for': forwardedFor });
      statuses.push(response.status);
      await response.body?.cancel();
    }
    return statuses;
  };

  it('behind one trusted proxy (TRUST_PROXY=1), limits each client address from X-Forwarded-For', async () => {
    const node = await startAppNode({ env: { RATE_LIMIT_PER_IP: '3', TRUST_PROXY: '1' } });
    nodes.push(node);
    expect((await burst(node, '203.0.113.7', 4)).map((s) => s === 429)).toEqual([false, false, false, true]);
    // Another client behind the same proxy has its own budget; a spoofed extra hop changes nothing.
    expect((await burst(node, '198.51.100.9', 1))[0]).not.toBe(429);
    expect((await burst(node, '10.9.9.9, 203.0.113.7', 1))[0]).toBe(429);
    expect((await fetch(new URL('/health', node.url))).status).toBe(200);
  });

  it('without TRUST_PROXY, ignores X-Forwarded-For: a client cannot mint itself new addresses', async () => {
    const node = await startAppNode({ env: { RATE_LIMIT_PER_IP: '3' } });
    nodes.push(node);
    const statuses = [
      ...(await burst(node, '192.0.2.1', 1)),
      ...(await burst(node, '192.0.2.2', 1)),
      ...(await burst(node, '192.0.2.3', 1)),
      ...(await burst(node, '192.0.2.4', 1)),
    ];
    expect(statuses.map((s) => s === 429)).toEqual([false, false, false, true]);
  });
});
