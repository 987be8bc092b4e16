import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppNode, clusterEnv, startAppNode } from '../helpers/app-node.js';
import { headers, initialize } from '../helpers/raw-streamable.js';
import { startTestRedis, type TestRedis } from '../helpers/redis-server.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

/** How long every command a node sends waits on its way to Redis while the test says so. */
const DELAY_MS = 400;

/**
 * What a restore costs in Redis round trips, seen as a client sees it: with every command held
 * DELAY_MS on its way to Redis, a call takes about DELAY_MS per round trip it waits for in series.
 * A node that never held the session gets the record with the session check (the same script), so
 * the call that restores waits for one round trip, as a warm call does; reading the record
 * afterwards would add a second (on ElastiCache, a network round trip to every restore).
 */
describe('a 2025 session restored on a node that never held it (real Redis behind a delaying proxy, two nodes)', () => {
  let redis: TestRedis;
  let proxy: TcpProxy;
  let slow = false;
  let a: AppNode;
  let b: AppNode;

  beforeAll(async () => {
    redis = await startTestRedis();
    proxy = await startTcpProxy(redis.port, {
      intercept: (_chunk, forward) => (slow ? setTimeout(forward, DELAY_MS) : forward()),
    });
    const start = (nodeId: string) => startAppNode({ nodeId, env: clusterEnv(proxy.url) });
    [a, b] = await Promise.all([start('restore-a'), start('restore-b')]);
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await proxy?.close();
    await redis?.close();
  });

  const echo = async (node: AppNode, sessionId: string, text: string) => {
    const started = performance.now();
    const response = await fetch(new URL('/mcp', node.url), {
      method: 'POST',
      headers: headers(sessionId),
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 2,
        method: 'tools/call',
        params: { name: 'echo', arguments: { text } },
      }),
    });
    const body = await response.text();
    expect(response.status, body).toBe(200);
    expect(body).toContain(`"text":"${text}"`);
    return performance.now() - started;
  };
  const restoresOn = (node: AppNode) =>
    node.logs.filter((line) => line.includes('"msg":"session restored from the store"')).length;

  it('answers the call that restores after one round trip in series, as the next (warm) call', async () => {
    // B runs a restore once before anything is timed: the first of a process pays for compiling it.
    await echo(b, await initialize(a.url), 'warm-up');
    const sessionId = await initialize(a.url);
    const restoresBefore = restoresOn(b);

    slow = true;
    const restoring = await echo(b, sessionId, 'restored');
    const warm = await echo(b, sessionId, 'warm');
    slow = false;

    expect(restoresOn(b), 'B restored the session for the first call').toBe(restoresBefore + 1);
    // The delay is in effect: each call waited for at least one round trip.
    expect(warm).toBeGreaterThanOrEqual(DELAY_MS);
    expect(restoring).toBeGreaterThanOrEqual(DELAY_MS);
    // One round trip, not two: what is left is the restore's own work, well under a round trip.
    expect(restoring, `restoring ${restoring.toFixed(0)} ms, warm ${warm.toFixed(0)} ms`).toBeLessThan(
      warm + DELAY_MS / 2,
    );
  });
});
