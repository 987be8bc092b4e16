import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../app/logger.js';
import { connectRedis } from '../../app/store/redis-connection.js';
import { SubscriberWatch } from '../../app/store/subscriber-watch.js';
import { waitFor } from '../helpers/ports.js';
import { startTestRedis } from '../helpers/redis-server.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

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
    // Two proxies to it: one lets the subscriber's first PING through only when the test says so,
    // the other holds the commands connection's ready check (and all it sends) until `openCommands`.
    let releasePing: (() => void) | undefined;
    const toSubscriber = await startTcpProxy(redis.port, {
      intercept: (chunk, forward) => {
        if (!releasePing && /\$4\r\nping\r\n/i.test(chunk.toString('latin1'))) releasePing = forward;
        else forward();
      },
    });
    let heldForCommands: (() => void)[] | undefined = [];
    const toPublisher = await startTcpProxy(redis.port, {
      intercept: (_chunk, forward) => (heldForCommands ? heldForCommands.push(forward) : forward()),
    });
    const openCommands = () => {
      const held = heldForCommands ?? [];
      heldForCommands = undefined;
      for (const forward of held) forward();
    };
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
    openCommands();
    await waitFor('the commands connection to be ready', () => publisher.status === 'ready');
    expect(watch.problem()).toBe('subscribing');
    releasePing?.();
    // The next scheduled probe is a second away; the one that counts must not wait for it.
    await waitFor('the subscriber to be reported listening', () => watch.problem() === undefined, 500, 10);
  });
});
