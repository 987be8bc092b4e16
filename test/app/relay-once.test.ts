import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppNode, startNodesOnSharedRedis, startTwoNodes, type TwoNodes } from '../helpers/app-node.js';
import { headers, initializeRequest, PROTOCOL, readEvents } from '../helpers/raw-streamable.js';
import { MCP_POST_HEADERS } from '../helpers/security.js';

/**
 * A 2024-11-05 session whose stream `owner` holds, initialized through `via`: its events, and a
 * POST to its endpoint on any node.
 */
async function openLegacySession(owner: AppNode, via: AppNode, clientName: string) {
  const controller = new AbortController();
  const stream = await fetch(new URL('/sse', owner.url), {
    headers: { accept: 'text/event-stream' },
    signal: controller.signal,
  });
  expect(stream.status).toBe(200);
  const events = readEvents(stream);
  const endpoint = (await events.next()).data; // `/messages?sessionId=…`
  const post = (node: AppNode, message: unknown) =>
    fetch(new URL(endpoint, node.url), {
      method: 'POST',
      headers: MCP_POST_HEADERS,
      body: JSON.stringify(message),
    });
  expect((await post(via, initializeRequest(clientName))).status).toBe(202);
  expect(JSON.parse((await events.next()).data)).toMatchObject({ id: 1, result: {} });
  expect((await post(via, { jsonrpc: '2.0', method: 'notifications/initialized' })).status).toBe(202);
  return { events, post, close: () => controller.abort() };
}

/**
 * Review §1 finding 9: a client may resend after a 503 (the relay's confirmation was late), through
 * any node. The node holding the stream takes each request once: the tool runs once, and its
 * response goes down the stream once.
 */
describe('2024-11-05 requests sent twice, relayed or not, run once (real Redis, two real nodes)', () => {
  let nodes: AppNode[];
  let stop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ nodes, stop } = await startNodesOnSharedRedis(['once-a', 'once-b']));
  });

  afterAll(() => stop?.());

  it('a tools/call posted twice through another node and once to the owner answers once', async () => {
    const [a, b] = nodes as [AppNode, AppNode];
    const { events, post, close } = await openLegacySession(a, b, 'twice');
    const call = {
      jsonrpc: '2.0',
      id: 7,
      method: 'tools/call',
      params: { name: 'echo', arguments: { text: 'once' } },
    };
    expect((await post(b, call)).status).toBe(202);
    expect((await post(b, call)).status).toBe(202);
    expect((await post(a, call)).status).toBe(202);
    // A request with another id still runs: it marks the end of what the stream carries for these.
    expect((await post(b, { ...call, id: 8 })).status).toBe(202);
    const answered: unknown[] = [];
    for (;;) {
      const message = JSON.parse((await events.next()).data) as { id?: number };
      if (message.id === 8) break;
      answered.push(message);
    }
    expect(answered).toEqual([
      {
        jsonrpc: '2.0',
        id: 7,
        result: expect.objectContaining({ content: [{ type: 'text', text: 'once' }] }),
      },
    ]);
    close();
    const dropped = a.logs.filter((line) => line.includes('dropped a request this stream already took'));
    expect(dropped).toHaveLength(2);
  });
});

/**
 * Review §1 finding 9: a 2025 batch that mixes an answer to another node's elicitation with a
 * request for this node used to be served here in full, which dropped the answer and left the
 * other node's tool call waiting. The answer is relayed, the rest served here.
 */
describe('2025 era: a batch mixing a foreign answer with a local request (real Redis, two real nodes)', () => {
  let nodes: AppNode[];
  let stop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ nodes, stop } = await startNodesOnSharedRedis(['mix-a', 'mix-b']));
  });

  afterAll(() => stop?.());

  it('relays the answer to the node that asked, and answers the request itself', async () => {
    const [a, b] = nodes as [AppNode, AppNode];
    const initialized = await fetch(new URL('/mcp', a.url), {
      method: 'POST',
      headers: headers(),
      body: JSON.stringify({
        ...initializeRequest('mixed-batch', PROTOCOL),
        params: {
          protocolVersion: PROTOCOL,
          capabilities: { elicitation: {} },
          clientInfo: { name: 'mixed-batch', version: '1' },
        },
      }),
    });
    const sessionId = initialized.headers.get('mcp-session-id')!;
    await initialized.text();
    await fetch(new URL('/mcp', a.url), {
      method: 'POST',
      headers: headers(sessionId),
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    }).then((r) => r.text());

    // The call on A asks the client for confirmation on its stream.
    const call = await fetch(new URL('/mcp', a.url), {
      method: 'POST',
      headers: headers(sessionId),
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 5,
        method: 'tools/call',
        params: { name: 'confirm', arguments: { action: 'ship it' } },
      }),
    });
    const onA = readEvents(call);
    let asked: { id: string; method: string } | undefined;
    while (!asked) {
      const event = await onA.next();
      if (event.data !== '') asked = JSON.parse(event.data);
    }
    expect(asked.method).toBe('elicitation/create');

    // The answer, batched with a request of its own, lands on B.
    const batch = await fetch(new URL('/mcp', b.url), {
      method: 'POST',
      headers: headers(sessionId),
      body: JSON.stringify([
        { jsonrpc: '2.0', id: asked.id, result: { action: 'accept', content: { confirm: true } } },
        {
          jsonrpc: '2.0',
          id: 9,
          method: 'tools/call',
          params: { name: 'echo', arguments: { text: 'mixed' } },
        },
      ]),
    });
    expect(batch.status).toBe(200);
    expect(await batch.text()).toContain('mixed');
    // A's call got its answer.
    let result: { id?: number; result?: { structuredContent?: unknown } } | undefined;
    while (result?.id !== 5) {
      const event = await onA.next();
      if (event.data !== '') result = JSON.parse(event.data);
    }
    expect(result.result?.structuredContent).toMatchObject({ confirmed: true, askedOn: 'mix-a' });
  });
});

/**
 * Review §1 finding 9: a relayed message went whole into one PUBLISH, and Redis disconnects a
 * subscriber whose output buffer passes `client-output-buffer-limit pubsub` (ElastiCache's default
 * hard limit is 32 MB; many bodies at once reach it). The subscriber lost the message, and the POST
 * got 503 after the ack timeouts. A relayed message now waits in the owner's inbox, a list; only a
 * doorbell of no bytes goes through pub/sub.
 */
describe('2024-11-05: a large body relayed to the node holding the stream (real Redis, two real nodes)', () => {
  let two: TwoNodes;

  beforeAll(async () => {
    two = await startTwoNodes('inbox');
    // A pub/sub output buffer far below the body, as many bodies in flight at once would fill it.
    await two.redis.client().config('SET', 'client-output-buffer-limit', 'pubsub 256kb 128kb 60');
  });

  afterAll(() => two?.stop());

  it('a 3 MB request posted to another node runs on the owner, and its subscriber stays connected', async () => {
    const { a, b } = two;
    const { events, post, close } = await openLegacySession(a, b, 'large');
    const pad = 'x'.repeat(3 * 1024 * 1024);
    const call = {
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'echo', arguments: { text: 'large' }, _meta: { pad } },
    };
    expect((await post(b, call)).status).toBe(202);
    expect(JSON.parse((await events.next()).data)).toMatchObject({
      id: 2,
      result: { content: [{ type: 'text', text: 'large' }] },
    });
    close();
    expect(a.logs.filter((line) => line.includes('redis subscriber: reconnecting'))).toEqual([]);
  });
});
