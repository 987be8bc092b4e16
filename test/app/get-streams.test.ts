import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryEventLog } from '../../app/bus/memory-event-log.js';
import { createLogger } from '../../app/logger.js';
import { GetStreamHub, MAX_QUEUED_BYTES } from '../../app/sessions/get-streams.js';
import { createKeys } from '../../app/store/keys.js';
import { type AppNode, startNodesOnSharedRedis } from '../helpers/app-node.js';
import { headers, initialize, readEvents } from '../helpers/raw-streamable.js';
import type { SharedRedis } from '../helpers/shared-redis.js';

describe('2025 GET streams and session ends across nodes (real Redis, two real nodes)', () => {
  let redis: SharedRedis;
  let nodes: AppNode[];
  let stop: (() => Promise<void>) | undefined;
  const url = (i: number) => nodes[i]!.url;

  beforeAll(async () => {
    ({ redis, nodes, stop } = await startNodesOnSharedRedis(['gs-a', 'gs-b']));
  });

  afterAll(() => stop?.());

  it('a DELETE sent to A ends the GET stream the session holds on B at once', async () => {
    const sessionId = await initialize(url(0));
    const listening = await fetch(new URL('/mcp', url(1)), { headers: headers(sessionId) });
    expect(listening.status).toBe(200);
    const events = readEvents(listening);
    expect((await events.next()).data).toBe(''); // the priming event: the stream is open on B

    const deletedAt = performance.now();
    const deleted = await fetch(new URL('/mcp', url(0)), { method: 'DELETE', headers: headers(sessionId) });
    expect(deleted.status).toBe(200);
    // B hears the end through the event log and closes the stream: the client sees it end, not a
    // heartbeat minutes later.
    await expect(events.next()).rejects.toThrow('stream ended');
    expect(performance.now() - deletedAt).toBeLessThan(2_000);
    const again = await fetch(new URL('/mcp', url(1)), { headers: headers(sessionId) });
    expect(again.status).toBe(404);
  });

  it('a session whose stored initialize is refused on restore answers 404 and is deleted, not 500 forever', async () => {
    const sessionId = await initialize(url(0));
    // Say a rolling upgrade brought a server that refuses what an older one accepted.
    const key = createKeys('test:').session(sessionId);
    const admin = redis.client();
    await admin.hset(key, 'initializeParams', JSON.stringify({ protocolVersion: 123 }));
    const call = () =>
      fetch(new URL('/mcp', url(1)), {
        method: 'POST',
        headers: headers(sessionId),
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
    const refused = await call();
    expect(refused.status).toBe(404);
    expect(await refused.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32001 } });
    expect(await admin.exists(key)).toBe(0);
    // The client is told to initialize again, and can.
    expect((await call()).status).toBe(404);
    expect(await initialize(url(1))).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });
});

describe('a GET stream whose client stops reading (the hub, on the embedded event log)', () => {
  it('is cut off once 1 MiB is queued, and a resume from the last event read gets the rest, once', async () => {
    const logger = createLogger({ level: 'silent', nodeId: 'hub-test' });
    const log = new MemoryEventLog(10_000, logger);
    const hub = new GetStreamHub({
      log,
      capabilities: () => ({ tools: { listChanged: true } }),
      subscriptionsOf: async () => [],
      heartbeatMs: 60_000,
      retryMs: undefined,
      logger,
    });
    const sessionId = 'a'.repeat(32);
    let closed = 0;
    const stalled = await hub.open(sessionId, {
      priming: true,
      signal: new AbortController().signal,
      closed: () => closed++,
    });
    const big = 'x'.repeat(4_096);
    const message = (i: number) => ({
      jsonrpc: '2.0' as const,
      method: 'notifications/message',
      params: { level: 'info' as const, data: { i, big } },
    });
    // Nobody reads `stalled`: its queue fills.
    const count = Math.ceil((MAX_QUEUED_BYTES * 1.5) / big.length);
    for (let i = 1; i <= count; i++) await log.append({ kind: 'message', sessionId, message: message(i) });
    expect(hub.holds(sessionId)).toBe(false);
    expect(closed).toBe(1);
    const reader = stalled.body!.getReader();
    await expect(reader.read()).rejects.toThrow('client not reading');

    // The client resumes from its priming event (it read nothing): every message, in order, once.
    const resumed = await hub.open(sessionId, {
      after: '0-0',
      priming: true,
      signal: new AbortController().signal,
      closed: () => closed++,
    });
    const events = readEvents(resumed);
    expect((await events.next()).id).toBe('_GET_stream_0-0');
    const seen: number[] = [];
    for (let i = 1; i <= count; i++) seen.push(JSON.parse((await events.next()).data).params.data.i);
    expect(seen).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    hub.closeAll();
    expect(closed).toBe(2);
  });
});

describe('a session listening on its GET stream (real Redis, one node, SESSION_TTL_SECONDS=3)', () => {
  let redis: SharedRedis;
  let node: AppNode;
  let stop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    let nodes: AppNode[];
    ({ redis, nodes, stop } = await startNodesOnSharedRedis(['gs-ttl'], {
      SESSION_TTL_SECONDS: '3',
      SSE_HEARTBEAT_SECONDS: '1',
    }));
    node = nodes[0]!;
  });

  afterAll(() => stop?.());

  const list = (sessionId: string) =>
    fetch(new URL('/mcp', node.url), {
      method: 'POST',
      headers: headers(sessionId),
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });

  it('stays alive while it listens, past its TTL; once it expires, the stream ends', async () => {
    const sessionId = await initialize(node.url);
    const listening = await fetch(new URL('/mcp', node.url), { headers: headers(sessionId) });
    const events = readEvents(listening);
    expect((await events.next()).data).toBe(''); // the priming event

    // Twice the TTL with no request: only the open stream keeps the session.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    const listed = await list(sessionId);
    expect(listed.status).toBe(200);
    await listed.text();

    // The record goes (as when it expires on a node that lost its streams): the stream ends.
    await redis.client().del(createKeys('test:').session(sessionId));
    const endedAt = performance.now();
    await expect(events.next()).rejects.toThrow('stream ended');
    expect(performance.now() - endedAt).toBeLessThan(3_000);
    expect((await list(sessionId)).status).toBe(404);
  });
});
