import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logger.js';
import type { RedisClient } from './redis-connection.js';

/** A channel the node's subscriber connection must listen on (server events, the node relay). */
export interface Subscription {
  name: string;
  /** Resolves once Redis has answered the SUBSCRIBE. */
  subscribe(): Promise<void>;
}

const PROBE_EVERY_MS = 1_000;
/** How long a probe may take to come back through the subscriber before it counts as unheard. */
const PROBE_TIMEOUT_MS = 2_000;
const MAX_SUBSCRIBE_BACKOFF_MS = 2_000;

/**
 * Keeps the node's subscriber connection subscribed and listening, and says when it is not
 * (`problem()`, which `/ready` reports).
 *
 * - **Subscribing.** Each SSUBSCRIBE is retried until Redis answers it. ioredis re-subscribes after
 *   a reconnect only the channels whose SUBSCRIBE was answered, and fails a queued one on its
 *   second reconnect attempt, so a node started during an outage would otherwise stay deaf for good.
 * - **Listening.** Then, every second and whenever the commands connection (re)connects, the
 *   commands connection SPUBLISHes a token on each of this node's probe channels (one on every shard
 *   its subscriptions live on: on a cluster, one subscriber connection per shard), and the
 *   subscriber must hear each:
 *   - SPUBLISH counts the subscribers of the server that ran it: the primary owning the channel's
 *     slot (the only primary of a standalone Redis), where this node's subscriber must sit. 0 means
 *     it sits on another server: after a failover, a demoted primary keeps its pub/sub clients
 *     (and even passes them the new primary's messages through replication), but they would miss
 *     whatever the new primary's channels carry once the replication link breaks.
 *   - A token not heard in time means a half-open socket.
 *
 *   Either way the subscriber reconnects at once (the endpoint names the primary again) and ioredis
 *   re-subscribes every channel. While the commands connection cannot publish, a PING on the
 *   subscriber at least finds a dead socket (it fails within the command timeout).
 */
export class SubscriberWatch {
  private problemNow: string | undefined = 'subscribing';
  private stopped = false;
  private sequence = 0;
  private readonly waiting = new Map<string, () => void>();
  /** Ends the wait between two probes early. */
  private wake: (() => void) | undefined;
  private readonly onMessage = (channel: string, token: string) => {
    if (this.deps.channels.includes(channel)) this.waiting.get(token)?.();
  };
  // The commands connection reconnected, maybe to another server: check the subscriber now.
  private readonly onPublisherReady = () => this.wake?.();

  constructor(
    private readonly deps: {
      subscriber: RedisClient;
      /** The commands connection, which publishes the probes. */
      publisher: RedisClient;
      /**
       * This node's probe channels, one on each shard its subscriptions live on (keys.nodeProbe):
       * on a cluster each shard has its own subscriber connection, and any of
       * them can be lost alone.
       */
      channels: string[];
      logger: Logger;
    },
  ) {
    deps.subscriber.on('smessage', this.onMessage);
    deps.publisher.on('ready', this.onPublisherReady);
  }

  /** Subscribes everything (retrying until answered), then probes until `stop()`. */
  start(subscriptions: Subscription[]): void {
    // One SSUBSCRIBE per channel: on a cluster, one command may name channels of one slot only.
    const own = this.deps.channels.map(
      (channel): Subscription => ({
        name: 'subscriber probe',
        subscribe: async () => {
          await this.deps.subscriber.ssubscribe(channel);
        },
      }),
    );
    void Promise.all([...subscriptions, ...own].map((s) => this.subscribeUntilAnswered(s))).then(async () => {
      while (!this.stopped) {
        // Armed before the probe: a commands connection that turns ready while the probe runs (it
        // failed to publish, and pings the subscriber) ends the wait at once. Armed after, that
        // wake-up was lost and a starting node stayed unready for a whole second.
        const woken = new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        await this.probe().catch((err: Error) =>
          this.deps.logger.warn({ err: err.message }, 'redis subscriber probe failed'),
        );
        await Promise.race([woken, sleep(PROBE_EVERY_MS, undefined, { ref: false })]);
      }
    });
  }

  problem(): string | undefined {
    if (this.problemNow === undefined && this.deps.subscriber.status !== 'ready') return 'disconnected';
    return this.problemNow;
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
    this.deps.subscriber.off('smessage', this.onMessage);
    this.deps.publisher.off('ready', this.onPublisherReady);
  }

  private async subscribeUntilAnswered(subscription: Subscription): Promise<void> {
    for (let attempt = 1; !this.stopped; attempt++) {
      try {
        await subscription.subscribe();
        if (attempt > 1) this.deps.logger.info({ channel: subscription.name, attempt }, 'redis subscribed');
        return;
      } catch (err) {
        if (attempt === 1 || attempt % 10 === 0) {
          this.deps.logger.warn(
            { channel: subscription.name, attempt, err: (err as Error).message },
            'redis subscribe failed; retrying until redis answers',
          );
        }
        await sleep(Math.min(100 * 2 ** attempt, MAX_SUBSCRIBE_BACKOFF_MS), undefined, { ref: false });
      }
    }
  }

  private async probe(): Promise<void> {
    const { subscriber } = this.deps;
    if (subscriber.status !== 'ready') {
      // ioredis is reconnecting it already.
      this.problemNow = 'disconnected';
      return;
    }
    const outcomes = await Promise.all(this.deps.channels.map((channel) => this.probeOne(channel)));
    if (outcomes.includes('unpublished')) {
      // The commands connection is failing (its own check reports it); is the subscriber alive?
      if (
        !(await subscriber.ping().then(
          () => true,
          () => false,
        ))
      )
        this.reconnect('not answering');
      return;
    }
    const problem = outcomes.find((outcome) => outcome !== 'heard');
    if (problem) return this.reconnect(problem);
    this.problemNow = undefined;
  }

  /** SPUBLISHes a token on one probe channel and waits for the subscriber to hear it. */
  private async probeOne(
    channel: string,
  ): Promise<'heard' | 'unpublished' | 'not subscribed on the primary' | 'not receiving messages'> {
    const token = String(++this.sequence);
    let heard!: () => void;
    const wasHeard = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), PROBE_TIMEOUT_MS).unref();
      heard = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
    this.waiting.set(token, heard);
    try {
      const receivers = await this.deps.publisher.spublish(channel, token).catch(() => undefined);
      if (receivers === undefined) return 'unpublished';
      if (receivers === 0) return 'not subscribed on the primary';
      return (await wasHeard) ? 'heard' : 'not receiving messages';
    } finally {
      this.waiting.delete(token);
    }
  }

  private reconnect(problem: string): void {
    this.problemNow = problem;
    this.deps.logger.warn({ problem }, 'redis subscriber: reconnecting');
    this.deps.subscriber.disconnect(true);
  }
}
