import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppNode, clusterEnv, startAppNode } from '../helpers/app-node.js';
import { waitFor } from '../helpers/ports.js';
import { startTestRedis, type TestRedis } from '../helpers/redis-server.js';
import { MCP_POST_HEADERS } from '../helpers/security.js';

const ABANDONED = 40;

/** Opens `GET /sse` on a raw socket and hangs up at once, while the node is still setting the session up. */
function openAndLeave(url: string): Promise<void> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(
        `GET /sse HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAccept: text/event-stream\r\n\r\n`,
        () => socket.destroy(),
      );
    });
    socket.once('close', () => resolve());
    socket.once('error', reject);
  });
}

/** Opens `GET /sse` on a raw socket, reads up to the `endpoint` event, then stops reading. */
function openAndStopReading(url: string): Promise<{ socket: Socket; endpoint: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString();
      const endpoint = /event: endpoint\ndata: (\S+)\n/.exec(received)?.[1];
      if (endpoint) {
        socket.removeAllListeners('data');
        socket.pause();
        resolve({ socket, endpoint });
      }
    });
    socket.once('error', reject);
    socket.write(`GET /sse HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAccept: text/event-stream\r\n\r\n`);
  });
}

/**
 * Review §1 finding 6: a 2024-11-05 client that leaves while its stream is being opened (the node
 * awaits Redis for the quota lease, the record and the owner record) must not leave a stream that
 * the heartbeat keeps alive, with its session and owner record, forever.
 */
describe('2024-11-05 streams whose client left or stopped reading', () => {
  let redis: TestRedis;
  let node: AppNode;
  const activeSessions = async () =>
    ((await (await fetch(new URL('/health', node.url))).json()) as { activeSessions: number }).activeSessions;

  beforeAll(async () => {
    redis = await startTestRedis();
    node = await startAppNode({ env: clusterEnv(redis.url, { SSE_HEARTBEAT_SECONDS: '1' }) });
  });
  afterAll(async () => {
    await node?.stop();
    await redis?.close();
  });

  it('are forgotten, with their owner records, within a heartbeat or two', async () => {
    const before = await activeSessions();
    await Promise.all(Array.from({ length: ABANDONED }, () => openAndLeave(node.url)));
    const owners = () => redis.client().keys('*:sse-owner');
    // The node goes on setting the streams up after the sockets closed: let it finish (and a
    // heartbeat pass) before counting what it still holds.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await waitFor(
      'every abandoned stream to be forgotten',
      async () => (await activeSessions()) === before && (await owners()).length === 0,
      5_000,
    ).catch(() => undefined);
    expect(await activeSessions()).toBe(before);
    expect(await owners()).toEqual([]);
  });

  it('cuts a stream whose client stops reading once about 1 MiB is queued, instead of buffering without bound', async () => {
    const before = await activeSessions();
    const stalled = await openAndStopReading(node.url);
    const post = async (message: object) => {
      const answer = await fetch(new URL(stalled.endpoint, node.url), {
        method: 'POST',
        headers: MCP_POST_HEADERS,
        body: JSON.stringify(message),
      });
      await answer.body?.cancel();
      return answer.status;
    };
    expect(
      await post({
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: {
          protocolVersion: '2024-11-05',
          capabilities: {},
          clientInfo: { name: 'stalled', version: '1' },
        },
      }),
    ).toBe(202);
    await post({ jsonrpc: '2.0', method: 'notifications/initialized' });
    // Up to 400 answers of 100 kB (echo's limit): far more than the loopback socket buffers hold,
    // so the rest queues on the node.
    const text = 'x'.repeat(100_000);
    expect(await activeSessions()).toBe(before + 1);
    for (let id = 1; id <= 400 && (await activeSessions()) > before; id++) {
      await post({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { text } } });
    }
    // The node let the stream go (the client, which reads nothing, sees the cut when it reads again,
    // and resumes with GET /sse?sessionId=); without the cap it would still hold it, buffering.
    await waitFor(
      'the node to cut the stalled stream',
      async () => (await activeSessions()) === before,
      5_000,
    );
    stalled.socket.destroy();
  });
});
