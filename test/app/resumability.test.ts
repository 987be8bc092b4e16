import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryEventStores } from '../../app/store/event-store-memory.js';
import { createRedisEventStores } from '../../app/store/event-store-redis.js';
import { createKeys } from '../../app/store/keys.js';
import { type AppNode, clusterEnv, startAppNode, startTwoNodes, type TwoNodes } from '../helpers/app-node.js';
import { connectModernClient } from '../helpers/clients.js';
import { waitFor } from '../helpers/ports.js';
import { headers, initialize, readEvents, type SseEvent } from '../helpers/raw-streamable.js';
import { type SharedRedis, startSharedRedis } from '../helpers/shared-redis.js';

describe('resumable streams: Last-Event-ID on any node (real Redis, two real nodes)', () => {
  let redis: SharedRedis;
  let nodes: AppNode[];

  beforeAll(async () => {
    redis = await startSharedRedis();
    nodes = await Promise.all(
      ['r-a', 'r-b'].map((nodeId) =>
        startAppNode({
          nodeId,
          env: clusterEnv(redis, { EVENT_STREAM_MAX_EVENTS: '50', SSE_RETRY_MILLISECONDS: '1500' }),
        }),
      ),
    );
  });

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await redis.close();
  });

  it('replays, on B, the progress and result of a call whose stream broke on A', async () => {
    const sessionId = await initialize(nodes[0]!.url);
    const { priming, first } = await countdownThenLoseStream(nodes[0]!.url, sessionId, 42);
    expect(priming).toMatchObject({ retry: '1500', data: '' });
    expect(JSON.parse(first.data)).toMatchObject({
      method: 'notifications/progress',
      params: { progress: 1 },
    });

    await new Promise((resolve) => setTimeout(resolve, 2_600)); // A finishes the call meanwhile
    const replayed = await resume(nodes[1]!.url, sessionId, first.id!);
    const messages = replayed.map((e) => JSON.parse(e.data));
    expect(messages.map((m) => m.params?.progress ?? 'result')).toEqual([2, 3, 'result']);
    expect(messages[2]).toMatchObject({ id: 42, result: { content: [{ text: 'Counted down 3 s.' }] } });
    // Event ids encode their stream and are parsed from the right.
    const streamId = first.id!.slice(0, first.id!.lastIndexOf('_'));
    expect(replayed.every((e) => e.id!.startsWith(`${streamId}_`))).toBe(true);
  });

  it('follows, on B, a call that is still running on A when its stream is resumed', async () => {
    const sessionId = await initialize(nodes[0]!.url);
    const { first } = await countdownThenLoseStream(nodes[0]!.url, sessionId, 43);
    // Resume at once, two seconds before A has the result.
    const messages = (await resume(nodes[1]!.url, sessionId, first.id!)).map((e) => JSON.parse(e.data));
    expect(messages.map((m) => m.params?.progress ?? 'result')).toEqual([2, 3, 'result']);
    expect(messages[2]).toMatchObject({ id: 43, result: { content: [{ text: 'Counted down 3 s.' }] } });
  });

  it('answers, within seconds, a call whose node died with an error, instead of leaving the client waiting', async () => {
    const doomed = await startAppNode({
      nodeId: 'r-doomed',
      env: clusterEnv(redis, { EVENT_STREAM_MAX_EVENTS: '50' }),
    });
    const sessionId = await initialize(doomed.url);
    // One call had sent progress when its node died, one had sent nothing but the priming event.
    const { first } = await countdownThenLoseStream(doomed.url, sessionId, 44);
    const { priming } = await countdownThenLoseStream(doomed.url, sessionId, 45, {
      progress: false,
      seconds: 30,
    });
    doomed.kill('SIGKILL');
    await doomed.exited;
    const resumedAt = performance.now();
    const [afterProgress = [], afterPriming] = await Promise.all(
      [first.id!, priming.id!].map(async (lastEventId) =>
        (await resume(nodes[1]!.url, sessionId, lastEventId)).map((e) => JSON.parse(e.data)),
      ),
    );
    // The node registry forgets a killed node within 3 s; the follower checks every second.
    expect(performance.now() - resumedAt).toBeLessThan(8_000);
    const nodeGone = (id: number) => ({
      jsonrpc: '2.0',
      id,
      error: {
        code: -32603,
        message: expect.stringContaining('stopped before answering'),
        data: { reason: 'node_gone' },
      },
    });
    expect(afterProgress.filter((m) => 'result' in m || 'error' in m)).toEqual([nodeGone(44)]);
    expect(afterPriming).toEqual([nodeGone(45)]);
  }, 20_000);

  it('sends the headers of a resumed stream at once, then the progress of the running call as it comes', async () => {
    const sessionId = await initialize(nodes[0]!.url);
    const { first } = await countdownThenLoseStream(nodes[0]!.url, sessionId, 47, { seconds: 4 });
    const startedAt = performance.now();
    const resumed = await fetch(new URL('/mcp', nodes[1]!.url), {
      headers: { ...headers(sessionId), 'last-event-id': first.id! },
    });
    expect(resumed.status).toBe(200);
    expect(resumed.headers.get('content-type')).toBe('text/event-stream');
    const headersAfter = performance.now() - startedAt;
    const events = readEvents(resumed);
    const next = await events.next();
    const progressAfter = performance.now() - startedAt;
    expect(JSON.parse(next.data)).toMatchObject({
      method: 'notifications/progress',
      params: { progress: 2 },
    });
    // The call ends about 3 s after the resume; its headers and its next progress came long before.
    expect(headersAfter).toBeLessThan(1_000);
    expect(progressAfter).toBeLessThan(2_000);
    const rest = (await collect(events)).map((e) => JSON.parse(e.data));
    expect(rest.at(-1)).toMatchObject({ id: 47, result: { content: [{ text: 'Counted down 4 s.' }] } });
  });

  it('follows a call that has stored nothing yet for as long as its node lives', async () => {
    const sessionId = await initialize(nodes[0]!.url);
    const { priming } = await countdownThenLoseStream(nodes[0]!.url, sessionId, 46, {
      progress: false,
      seconds: 3,
    });
    const replayed = (await resume(nodes[1]!.url, sessionId, priming.id!)).map((e) => JSON.parse(e.data));
    expect(replayed).toEqual([
      expect.objectContaining({
        id: 46,
        result: expect.objectContaining({ content: [{ type: 'text', text: 'Counted down 3 s.' }] }),
      }),
    ]);
  });

  it('resumes a standalone GET stream on another node: every event since, once, even those published while no node held it', async () => {
    const sessionId = await initialize(nodes[0]!.url);
    const controller = new AbortController();
    const listening = await fetch(new URL('/mcp', nodes[0]!.url), {
      headers: headers(sessionId),
      signal: controller.signal,
    });
    expect(listening.status).toBe(200);
    const events = readEvents(listening);
    // First a priming event: an id to resume from before any notification, and the retry hint.
    const priming = await events.next();
    expect(priming).toMatchObject({ data: '', retry: '1500' });
    expect(priming.id).toMatch(/^_GET_stream_\d+-\d+$/);
    const publisher = await connectModernClient(() => nodes[1]!.url);
    const publish = () =>
      publisher.client.callTool({ name: 'notify_change', arguments: { kind: 'tools_list_changed' } });

    await publish();
    const seen = await events.next();
    expect(seen.id).toMatch(/^_GET_stream_\d+-\d+$/);
    expect(JSON.parse(seen.data)).toMatchObject({ method: 'notifications/tools/list_changed' });
    await publish();
    const missed = await events.next();
    expect(JSON.parse(missed.data)).toMatchObject({ method: 'notifications/tools/list_changed' });
    controller.abort();
    // Published while no node holds the session's stream.
    await publish();

    // Say the client saw only the first notification before its node went away: B sends the
    // second and the third, in order, and nothing twice.
    const afterSeen = await resumeGetStream(nodes[1]!.url, sessionId, seen.id!, 2);
    expect(afterSeen[0]!.id).toBe(missed.id);
    expect(afterSeen.map((e) => JSON.parse(e.data).method)).toEqual([
      'notifications/tools/list_changed',
      'notifications/tools/list_changed',
    ]);
    // From the priming id (the client saw nothing at all): all three.
    const afterPriming = await resumeGetStream(nodes[0]!.url, sessionId, priming.id!, 3);
    expect(afterPriming.map((e) => e.id)).toEqual([seen.id, missed.id, afterSeen[1]!.id]);

    // And live again after the replay: a fourth reaches the resumed stream once.
    const liveController = new AbortController();
    const resumed = await fetch(new URL('/mcp', nodes[1]!.url), {
      headers: { ...headers(sessionId), 'last-event-id': afterSeen[1]!.id! },
      signal: liveController.signal,
    });
    const live = readEvents(resumed);
    expect((await live.next()).data).toBe(''); // its priming event
    await publish();
    const fourth = await live.next();
    expect(JSON.parse(fourth.data)).toMatchObject({ method: 'notifications/tools/list_changed' });
    expect([seen.id, missed.id, afterSeen[1]!.id]).not.toContain(fourth.id);
    liveController.abort();
    await publisher.client.close();
  });

  it('refuses a Last-Event-ID it never issued, positions beyond 64 bits and forged origins included, with 400', async () => {
    const sessionId = await initialize(nodes[0]!.url);
    for (const lastEventId of [
      'not-an-event-id',
      '_GET_stream_18446744073709551616-0',
      '5f0c7a1e-0000-4000-8000-000000000000_0-18446744073709551616',
      // An origin that is not hex of [writer, request ids].
      '5f0c7a1e-0000-4000-8000-000000000000_0-1~zz',
      `5f0c7a1e-0000-4000-8000-000000000000_0-1~${Buffer.from('["a b",[1]]').toString('hex')}`,
    ]) {
      const response = await fetch(new URL('/mcp', nodes[1]!.url), {
        headers: { ...headers(sessionId), 'last-event-id': lastEventId },
      });
      expect(response.status, lastEventId).toBe(400);
      expect(await response.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 } });
    }
  });

  it('caps each stream and gives it a TTL, atomically, in Redis', async () => {
    const plain = redis.client();
    const stores = createRedisEventStores({
      redis: plain,
      keys: createKeys('cap-test:'),
      limits: { maxEventsPerStream: 5, ttlSeconds: 120 },
    });
    const store = stores.forSession('S'.repeat(32));
    const ids: string[] = [];
    for (let i = 1; i <= 7; i++) {
      ids.push(
        await store.storeEvent('call-stream', {
          jsonrpc: '2.0',
          method: 'notifications/message',
          params: { i },
        }),
      );
    }
    ids.push(await store.storeEvent('call-stream', { jsonrpc: '2.0', id: 8, result: { i: 8 } }));
    const key = `cap-test:session:{${'S'.repeat(32)}}:events`;
    // The response is appended without being awaited: wait for it to land.
    await waitFor('the response to be stored', async () => (await plain.xrange(key, '-', '+')).length === 5);
    expect(await plain.xlen(key)).toBe(5);
    expect(await plain.ttl(key)).toBeGreaterThan(100);
    const replayed: number[] = [];
    const streamId = await store.replayEventsAfter(ids[4]!, {
      send: async (_id, message) => {
        const m = message as unknown as { params?: { i: number }; result?: { i: number } };
        replayed.push((m.params ?? m.result)!.i);
      },
    });
    expect(streamId).toBe('call-stream');
    expect(replayed).toEqual([6, 7, 8]);
  });
  it('keeps every stream of a session in one Redis Stream, and replays each stream on its own', async () => {
    const plain = redis.client();
    const keys = createKeys('one-key:');
    const stores = createRedisEventStores({
      redis: plain,
      keys,
      limits: { maxEventsPerStream: 100, ttlSeconds: 120 },
    });
    const store = stores.forSession('T'.repeat(32));
    const message = (stream: string, i: number) => ({
      jsonrpc: '2.0' as const,
      method: 'notifications/progress',
      params: { stream, i },
    });
    const a: string[] = [];
    const b: string[] = [];
    for (let i = 1; i <= 3; i++) {
      a.push(await store.storeEvent('stream-a', message('a', i)));
      b.push(await store.storeEvent('stream-b', message('b', i)));
    }
    await store.storeEvent('stream-c', message('c', 1));
    // A POST stream's ids are minted on the node, without waiting for Redis.
    expect(a).toEqual(['stream-a_0-1', 'stream-a_0-3', 'stream-a_0-5']);
    // KEYS answers for one server: on a cluster, ask every primary.
    const servers = 'nodes' in plain ? plain.nodes('master') : [plain];
    const stored = (await Promise.all(servers.map((server) => server.keys('one-key:*')))).flat();
    expect(stored).toEqual([keys.sessionEvents('T'.repeat(32))]);
    expect(await plain.ttl(keys.sessionEvents('T'.repeat(32)))).toBeGreaterThan(100);

    const replay = async (after: string) => {
      const seen: string[] = [];
      await store.replayEventsAfter(after, {
        send: async (id, m) => {
          const params = (m as unknown as { params?: { stream: string; i: number } }).params;
          seen.push(`${id}:${params ? `${params.stream}${params.i}` : 'result'}`);
        },
      });
      return seen;
    };
    // A call's stream resumed after its first event: its own later events up to its result, none
    // of the other calls'.
    await store.storeEvent('stream-a', { jsonrpc: '2.0', id: 1, result: { content: [] } });
    expect(await replay(a[0]!)).toEqual(['stream-a_0-3:a2', 'stream-a_0-5:a3', 'stream-a_0-8:result']);
  });
});

/**
 * Review §1 finding 7: a client that left a resumed request stream was invisible, and its node
 * went on reading Redis ten times a second for the whole follow window (30 s). Counted on a Redis
 * of its own, which nothing else reads.
 */
describe('a resumed request stream whose client leaves (private Redis, two real nodes)', () => {
  let two: TwoNodes;

  beforeAll(async () => {
    two = await startTwoNodes('leave', { EVENT_STREAM_MAX_EVENTS: '50' });
  });

  afterAll(() => two?.stop());

  it('follows at most 16 resumed streams of one session on a node at once: 429 beyond, a place freed when one leaves', async () => {
    const { a, b } = two;
    const sessionId = await initialize(a.url);
    const { priming } = await countdownThenLoseStream(a.url, sessionId, 8, { progress: false, seconds: 15 });
    const controllers: AbortController[] = [];
    const resume = () => {
      const controller = new AbortController();
      controllers.push(controller);
      return fetch(new URL('/mcp', b.url), {
        headers: { ...headers(sessionId), 'last-event-id': priming.id! },
        signal: controller.signal,
      });
    };
    const open = await Promise.all(Array.from({ length: 16 }, resume));
    expect(open.map((r) => r.status)).toEqual(Array(16).fill(200));
    const refused = await resume();
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toMatchObject({ error: { data: { reason: 'too_many_resumed_streams' } } });
    controllers[0]!.abort();
    await waitFor('a freed place', async () => {
      const again = await resume();
      return again.status === 200 ? true : undefined;
    });
    for (const controller of controllers) controller.abort();
  });

  it('stops following the call once its client is gone', async () => {
    const { a, b } = two;
    const sessionId = await initialize(a.url);
    const { priming } = await countdownThenLoseStream(a.url, sessionId, 7, { progress: false, seconds: 20 });
    const plain = two.redis.client();
    const xranges = async () => {
      const stats = (await plain.info('commandstats')) as string;
      return Number(/cmdstat_xrange:calls=(\d+)/.exec(stats)?.[1] ?? 0);
    };
    const controller = new AbortController();
    const resumed = await fetch(new URL('/mcp', b.url), {
      headers: { ...headers(sessionId), 'last-event-id': priming.id! },
      signal: controller.signal,
    });
    expect(resumed.status).toBe(200);
    const whileFollowing = await xranges();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await xranges()).toBeGreaterThan(whileFollowing); // B follows the call
    controller.abort();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const afterLeaving = await xranges();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await xranges()).toBe(afterLeaving);
  });
});

describe('the in-memory event store (single-node mode)', () => {
  it('keeps the last events of each stream, per session, and replays after an id', async () => {
    const stores = createMemoryEventStores({ maxEventsPerStream: 3, ttlSeconds: 60 });
    const mine = stores.forSession('mine');
    const theirs = stores.forSession('theirs');
    const ids: string[] = [];
    for (let i = 1; i <= 5; i++)
      ids.push(await mine.storeEvent('_GET_stream', { jsonrpc: '2.0', method: 'm', params: { i } }));
    await theirs.storeEvent('_GET_stream', { jsonrpc: '2.0', method: 'm', params: { i: 99 } });

    const replay = async (store: typeof mine, after: string) => {
      const seen: number[] = [];
      await store.replayEventsAfter(after, {
        send: async (_id, m) => void seen.push((m as unknown as { params: { i: number } }).params.i),
      });
      return seen;
    };
    expect(await replay(mine, ids[0]!)).toEqual([3, 4, 5]); // 1 and 2 were dropped by the cap
    expect(await replay(mine, ids[3]!)).toEqual([5]);
    expect(await replay(theirs, '_GET_stream_0-0')).toEqual([99]);
    await expect(mine.replayEventsAfter('garbage', { send: async () => undefined })).rejects.toThrow(
      /Last-Event-ID/,
    );
  });
});

async function collect(events: ReturnType<typeof readEvents>): Promise<SseEvent[]> {
  const all: SseEvent[] = [];
  try {
    for (;;) all.push(await events.next());
  } catch (err) {
    if ((err as Error).message !== 'stream ended') throw err;
  }
  return all;
}

/**
 * Starts a countdown and drops its stream after the first progress event (with `progress: false`,
 * right after the priming event: nothing of the call is stored yet).
 */
async function countdownThenLoseStream(
  baseUrl: string,
  sessionId: string,
  id: number,
  { progress = true, seconds = 3 } = {},
) {
  const controller = new AbortController();
  const call = await fetch(new URL('/mcp', baseUrl), {
    method: 'POST',
    headers: headers(sessionId),
    body: JSON.stringify({
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: {
        name: 'countdown',
        arguments: { seconds },
        ...(progress ? { _meta: { progressToken: `p${id}` } } : {}),
      },
    }),
    signal: controller.signal,
  });
  const events = readEvents(call);
  const priming = await events.next();
  const first = progress ? await events.next() : undefined;
  controller.abort(); // the client loses its stream; the call goes on where it runs
  return { priming, first: first as SseEvent };
}

/** Resumes a session's GET stream with Last-Event-ID and reads `count` events after its priming event. */
async function resumeGetStream(baseUrl: string, sessionId: string, lastEventId: string, count: number) {
  const controller = new AbortController();
  const resumed = await fetch(new URL('/mcp', baseUrl), {
    headers: { ...headers(sessionId), 'last-event-id': lastEventId },
    signal: controller.signal,
  });
  expect(resumed.status).toBe(200);
  const events = readEvents(resumed);
  const priming = await events.next();
  expect(priming).toMatchObject({ id: lastEventId, data: '' });
  const received: SseEvent[] = [];
  for (let i = 0; i < count; i++) received.push(await events.next());
  controller.abort();
  return received;
}

/** Resumes a stream with Last-Event-ID on a node and reads it to the end. */
async function resume(baseUrl: string, sessionId: string, lastEventId: string) {
  const resumed = await fetch(new URL('/mcp', baseUrl), {
    headers: { ...headers(sessionId), 'last-event-id': lastEventId },
  });
  expect(resumed.status).toBe(200);
  return collect(readEvents(resumed));
}
