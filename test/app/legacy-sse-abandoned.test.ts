import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppNode, clusterEnv, startAppNode } from '../helpers/app-node.js';
import { waitFor } from '../helpers/ports.js';
import { startTestRedis, type TestRedis } from '../helpers/redis-server.js';

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

/**
 * Review §1 finding 6: a 2024-11-05 client that leaves while its stream is being opened (the node
 * awaits Redis for the quota lease, the record and the owner record) must not leave a stream that
 * the heartbeat keeps alive, with its session and owner record, forever.
 */
describe('2024-11-05 streams abandoned while they open', () => {
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
});
