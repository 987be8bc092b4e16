import { connect, createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../app/logger.js';
import { connectRedis } from '../../app/store/redis-connection.js';
import { SubscriberWatch } from '../../app/store/subscriber-watch.js';
import { waitFor } from '../helpers/ports.js';
import { startTestRedis } from '../helpers/redis-server.js';

/**
 * A TCP relay to a real Redis that the test can hold up: with `held`, nothing the client sends
 * reaches Redis until `open()`; with `onFirstPing`, the client's first PING waits until the test
 * releases it.
 */
async function relay(
  redisPort: number,
  options: { held?: boolean; onFirstPing?: (release: () => void) => void },
) {
  const sockets: Socket[] = [];
  const flushes: (() => void)[] = [];
  let open = !options.held;
  let pingSeen = false;
  const server = createServer((client) => {
    const upstream = connect(redisPort, '127.0.0.1');
    sockets.push(client, upstream);
    upstream.pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    const forward = (chunk: Buffer) => {
      if (options.onFirstPing && !pingSeen && /\$4\r\nping\r\n/i.test(chunk.toString('latin1'))) {
        pingSeen = true;
        options.onFirstPing(() => upstream.write(chunk));
        return;
      }
      upstream.write(chunk);
    };
    const pending: Buffer[] = [];
    client.on('data', (chunk: Buffer) => (open ? forward(chunk) : pending.push(chunk)));
    flushes.push(() => {
      for (const chunk of pending.splice(0)) forward(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `redis://127.0.0.1:${(server.address() as { port: number }).port}`,
    open: () => {
      open = true;
      for (const flush of flushes) flush();
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('the subscriber watch (what /ready says of the subscriber connection)', () => {
  const stops: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  it('probes again at once when the commands connection turns ready while a probe is running', async () => {
    // A node starts: its subscriber connection is up first and subscribed; its commands connection
    // is still in its ready check, so the first probe cannot publish and pings the subscriber instead.
    // The commands connection turns ready during that ping. Seen in bench (f): the node then stayed
    // unready for a second (the next scheduled probe), in 2 to 4 of 5 starts.
    const redis = await startTestRedis();
    stops.push(() => redis.close());
    let releasePing: (() => void) | undefined;
    const toSubscriber = await relay(redis.port, { onFirstPing: (release) => (releasePing = release) });
    const toPublisher = await relay(redis.port, { held: true });
    stops.push(
      () => toSubscriber.close(),
      () => toPublisher.close(),
    );
    const logger = createLogger({ level: 'silent', nodeId: 'watch' });
    const connection = (url: string, role: string, subscriber: boolean) =>
      connectRedis({ url, cluster: false }, { logger, role, nodeId: 'watch', subscriber });
    const subscriber = connection(toSubscriber.url, 'events', true);
    const publisher = connection(toPublisher.url, 'commands', false);
    stops.push(
      () => subscriber.disconnect(),
      () => publisher.disconnect(),
    );
    publisher.connect().catch(() => undefined);
    const watch = new SubscriberWatch({ subscriber, publisher, channels: ['test:probe:{watch}'], logger });
    stops.push(() => watch.stop());
    watch.start([]);

    await waitFor('the probe to ping the subscriber', () => releasePing !== undefined);
    toPublisher.open();
    await waitFor('the commands connection to be ready', () => publisher.status === 'ready');
    expect(watch.problem()).toBe('subscribing');
    releasePing?.();
    // The next scheduled probe is a second away; the one that counts must not wait for it.
    await waitFor('the subscriber to be reported listening', () => watch.problem() === undefined, 500, 10);
  });
});
