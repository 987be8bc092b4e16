import { type EventSourceMessage, EventSourceParserStream } from 'eventsource-parser/stream';
import { afterEach, describe, expect, it } from 'vitest';
import { type LocalCluster, startCluster } from '../helpers/cluster.js';
import { startNginx, type TestNginx } from '../helpers/nginx.js';
import { headers, initialize } from '../helpers/raw-streamable.js';

/**
 * The ingress controller rolls while a client's stream is open (docs/operations.md, "When the ingress
 * controller rolls"): a real nginx, configured with `worker_shutdown_timeout` as the EKS controllers
 * are, is stopped gracefully (SIGQUIT, what a stopping controller pod's nginx gets) in the middle of a
 * tool call's SSE response; a new nginx takes its port, as a new controller pod takes the NLB's
 * traffic. The stream must keep flowing after the stop, be cut at the bound, and resume through the
 * new nginx with Last-Event-ID with nothing lost and nothing twice.
 */
/** Short, so the test is quick; the stacks use 240 s. */
const WORKER_SHUTDOWN_SECONDS = 2;
const COUNTDOWN_SECONDS = 8;

/** The SSE events of a response, parsed with eventsource-parser; `done` once the stream ends (or breaks). */
function events(response: Response) {
  const reader = (response.body as ReadableStream<Uint8Array>)
    .pipeThrough(new TextDecoderStream())
    .pipeThrough(new EventSourceParserStream())
    .getReader();
  return {
    async next(): Promise<EventSourceMessage | undefined> {
      for (;;) {
        const read = await reader.read().catch(() => ({ done: true as const, value: undefined }));
        if (read.done) return undefined;
        // The priming event carries no data; keep-alives are comments the parser drops.
        if (read.value.data !== '') return read.value;
      }
    },
  };
}

/** `progress` of a progress notification, `result` for the call's answer. */
function step(event: EventSourceMessage): number | 'result' {
  const message = JSON.parse(event.data);
  return message.method === 'notifications/progress' ? message.params.progress : 'result';
}

describe('end to end: the ingress controller rolls under an open stream', () => {
  let cluster: LocalCluster | undefined;
  let replacement: TestNginx | undefined;

  afterEach(async () => {
    await replacement?.stop();
    replacement = undefined;
    await cluster?.stop();
    cluster = undefined;
  });

  it('keeps the stream flowing after nginx is told to stop, cuts it at worker_shutdown_timeout, and the client resumes through the new nginx with Last-Event-ID', async () => {
    cluster = await startCluster({
      nodes: 1,
      namePrefix: 'roll',
      workerShutdownTimeoutSeconds: WORKER_SHUTDOWN_SECONDS,
    });
    const url = cluster.url;
    const sessionId = await initialize(url);
    const call = await fetch(`${url}/mcp`, {
      method: 'POST',
      headers: headers(sessionId),
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: {
          name: 'countdown',
          arguments: { seconds: COUNTDOWN_SECONDS },
          _meta: { progressToken: 'roll' },
        },
      }),
    });
    expect(call.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const before = events(call);
    const first = (await before.next()) as EventSourceMessage;
    expect(step(first)).toBe(1);

    // The controller pod stops: its nginx quits gracefully while the stream is open.
    const stopped = cluster.nginx.quit();
    const received: EventSourceMessage[] = [first];
    for (let event = await before.next(); event; event = await before.next()) received.push(event);
    await stopped;
    const onOldNginx = received.map(step);
    // It kept flowing after the stop (no fast shutdown), and was cut before the call ended.
    expect(onOldNginx.length).toBeGreaterThan(1);
    expect(onOldNginx).not.toContain('result');

    // A new controller takes the traffic, under the same address; the client resumes there.
    replacement = await startNginx({
      upstreams: cluster.nodes.map((node) => `127.0.0.1:${node.port}`),
      port: cluster.nginx.port,
      workerShutdownTimeoutSeconds: WORKER_SHUTDOWN_SECONDS,
    });
    const resume = () =>
      fetch(`${replacement?.url}/mcp`, {
        headers: { ...headers(sessionId), 'last-event-id': received.at(-1)?.id as string },
      });
    // Until the node sees the cut upstream connection close, the stream is still its own: it answers
    // 409 "Stream already has an active connection", and a client retries, as the SDK's does.
    let resumed = await resume();
    for (const deadline = Date.now() + 10_000; resumed.status === 409 && Date.now() < deadline; ) {
      await resumed.body?.cancel();
      await new Promise((resolve) => setTimeout(resolve, 200));
      resumed = await resume();
    }
    expect(resumed.status).toBe(200);
    const after = events(resumed);
    const rest: (number | 'result')[] = [];
    for (let event = await after.next(); event; event = await after.next()) rest.push(step(event));
    const expected = [...Array.from({ length: COUNTDOWN_SECONDS }, (_, index) => index + 1), 'result'];
    expect([...onOldNginx, ...rest]).toEqual(expected);
  });
});
