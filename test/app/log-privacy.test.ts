import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppNode, clusterEnv, safeJson, startAppNode } from '../helpers/app-node.js';
import {
  connectLegacyClient,
  connectModernClient,
  connectSseClient,
  structuredOf,
  textOf,
} from '../helpers/clients.js';
import { waitFor } from '../helpers/ports.js';
import { startTestRedis, type TestRedis } from '../helpers/redis-server.js';
import { MCP_POST_HEADERS, rawRequest, sessionIdInLogs } from '../helpers/security.js';

const KEY = `logs-${randomBytes(24).toString('base64url')}`;
const STORED_VALUE = `stored-value-${randomBytes(8).toString('hex')}`;
const PING = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });

/**
 * What operators keep and pass around (log lines, read from a real node's stdout) must not carry
 * what a caller could use or what a caller stored: session ids (bearer credentials), Redis
 * command arguments (key names, stored values, `initialize` params), or a caller's request id of
 * any size.
 */
describe('logs carry no session ids, no Redis command arguments and no oversized request ids', () => {
  let redis: TestRedis;
  let node: AppNode;
  const sessionIds: string[] = [];

  beforeAll(async () => {
    redis = await startTestRedis();
    node = await startAppNode({
      nodeId: 'logs',
      env: clusterEnv(redis.url, { AUTH_MODE: 'apikey', AUTH_API_KEYS: KEY, LOG_LEVEL: 'debug' }),
    });
  });
  afterAll(async () => {
    await node?.stop();
    await redis?.close();
  });

  it('during normal calls and Redis errors, in the 2025, 2024 and 2026 eras', async () => {
    const legacy = await connectLegacyClient(() => node.url, 'logs-2025', { token: KEY });
    sessionIds.push(legacy.sessionId() as string);
    await legacy.client.callTool({ name: 'remember', arguments: { key: 'k', value: STORED_VALUE } });
    expect(textOf(await legacy.client.callTool({ name: 'recall', arguments: { key: 'k' } }))).toBe(
      STORED_VALUE,
    );
    const sse = await connectSseClient(() => node.url, { token: KEY });
    sessionIds.push(
      structuredOf<{ sessionId: string }>(await sse.client.callTool({ name: 'node_info', arguments: {} }))
        .sessionId,
    );
    await sse.client.callTool({ name: 'remember', arguments: { key: 'k', value: STORED_VALUE } });
    const modern = await connectModernClient(() => node.url, 'logs-2026', { token: KEY });
    await modern.client.callTool({ name: 'remember', arguments: { key: 'k', value: STORED_VALUE } });

    // A Redis error on each sessionful path: each session's record is made a string, so the
    // script that checks it fails with WRONGTYPE, an ioredis ReplyError carrying the command.
    const assertions = redis.client();
    assertions.on('error', () => undefined); // the next test stops Redis under it
    for (const id of sessionIds) await assertions.set(`test:session:{${id}}`, 'not a hash');
    await expect(legacy.client.callTool({ name: 'echo', arguments: { text: 'x' } })).rejects.toThrow();
    await expect(sse.client.callTool({ name: 'echo', arguments: { text: 'x' } })).rejects.toThrow();
    await Promise.all([sse.client.close(), modern.client.close()]);

    const parsedLogs = () => node.logs.map(safeJson).filter((line) => line !== undefined);
    const wrongTypeErrors = () =>
      parsedLogs().filter((line) => JSON.stringify(line.err ?? '').includes('WRONGTYPE'));
    // The errors were logged, with what went wrong and no command. The 2024 transport answers its
    // POST with 202 and fails on the stream, so its line may follow the client's error by a moment.
    const redisErrors = await waitFor('both Redis errors to be logged', () => {
      const found = wrongTypeErrors();
      return found.length >= 2 ? found : undefined;
    }).catch(() => wrongTypeErrors());
    expect(redisErrors.length).toBeGreaterThanOrEqual(2);
    const lines = parsedLogs();
    for (const line of redisErrors) expect(Object.keys(line.err as object)).not.toContain('command');
    // Requests of both sessions were logged under the hashed id, so lines still correlate.
    for (const id of sessionIds) {
      expect(lines.some((line) => line.msg === 'request' && line.sessionId === sessionIdInLogs(id))).toBe(
        true,
      );
    }
    assertNothingLeaked(node.logs.join('\n'));
  });

  it('while Redis is down, and once it is back', async () => {
    await redis.stop();
    const refused = await fetch(new URL('/mcp', node.url), {
      method: 'POST',
      headers: {
        ...MCP_POST_HEADERS,
        authorization: `Bearer ${KEY}`,
        'mcp-session-id': sessionIds[0]!,
        'mcp-protocol-version': '2025-06-18',
      },
      body: PING,
    });
    expect(refused.status).toBe(503);
    await redis.start();
    await waitFor('the node to be ready again', async () => (await fetch(new URL('/ready', node.url))).ok);
    assertNothingLeaked(node.logs.join('\n'));
  });

  it('echoes and logs a well-formed x-request-id, and replaces any other', async () => {
    const send = (requestId: string) =>
      rawRequest(node.url, {
        headers: {
          ...MCP_POST_HEADERS,
          host: new URL(node.url).host,
          authorization: `Bearer ${KEY}`,
          'x-request-id': requestId,
        },
        body: PING,
      });
    const traced = await send('Root=1-67891233-abcdef012345678912345678');
    expect(traced.headers['x-request-id']).toBe('Root=1-67891233-abcdef012345678912345678');

    for (const hostile of ['r'.repeat(8 * 1024), 'abc<script>alert(1)</script>', 'a b']) {
      const response = await send(hostile);
      expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    }
    // 20 KB: refused by Node's header limit (431) before any handler runs, so nothing echoes it.
    const huge = 'r'.repeat(20 * 1024);
    const tooLarge = await send(huge);
    expect(tooLarge.status).toBe(431);
    expect(tooLarge.headers['x-request-id']).toBeUndefined();

    await waitFor('the request lines', () =>
      node.logs.some((line) => line.includes('"requestId":"Root=1-67891233-abcdef012345678912345678"')),
    );
    const logs = node.logs.join('\n');
    expect(logs).not.toContain('r'.repeat(129));
    expect(logs).not.toContain('<script>');
  });

  function assertNothingLeaked(logs: string) {
    expect(logs.length).toBeGreaterThan(0);
    for (const id of sessionIds) expect(logs).not.toContain(id);
    expect(logs).not.toContain('"command"');
    expect(logs).not.toContain('test:session:{');
    expect(logs).not.toContain('test:principal:{');
    expect(logs).not.toContain(STORED_VALUE);
    expect(logs).not.toContain(KEY);
  }
});
