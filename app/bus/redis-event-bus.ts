import type { ServerEvent, ServerEventBus } from '@modelcontextprotocol/server';
import type { Logger } from '../logger.js';
import type { RedisClient } from '../store/redis-connection.js';

/**
 * A ServerEventBus over Redis pub/sub, so that a change published on any node reaches the
 * `subscriptions/listen` streams (2026) and GET streams (2025) held on every node.
 *
 * Sharded pub/sub (SPUBLISH/SSUBSCRIBE, Redis 7), on a standalone Redis as on a cluster: on a
 * cluster, classic PUBLISH is copied to every shard, and SPUBLISH reaches only the shard that owns
 * the channel, where every node's subscriber listens.
 *
 * Events are delivered only through Redis, never locally inside `publish`: one path, and no
 * re-entrancy. A subscriber connection can run no other command, hence the separate connection.
 * Pub/sub is at-most-once; these notifications only tell clients to re-list, so a rare loss is
 * tolerable, and the resumable event store covers the messages that must not be lost.
 */
export class RedisServerEventBus implements ServerEventBus {
  private readonly listeners = new Set<(event: ServerEvent) => void>();

  constructor(
    private readonly publisher: RedisClient,
    private readonly subscriber: RedisClient,
    private readonly channel: string,
    private readonly logger: Logger,
  ) {
    subscriber.on('smessage', (channelName: string, payload: string) => {
      if (channelName === channel) this.deliver(payload);
    });
  }

  /** Subscribes the channel; ioredis re-subscribes by itself after a reconnect. */
  async start(): Promise<void> {
    await this.subscriber.ssubscribe(this.channel);
  }

  publish(event: ServerEvent): void {
    this.publisher.spublish(this.channel, JSON.stringify(event)).catch((err: Error) => {
      this.logger.warn({ err: err.message, event: event.kind }, 'could not publish a server event');
    });
  }

  subscribe(listener: (event: ServerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  private deliver(payload: string): void {
    let event: ServerEvent;
    try {
      event = JSON.parse(payload) as ServerEvent;
    } catch {
      this.logger.warn('dropped a malformed server event from Redis');
      return;
    }
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (err) {
        this.logger.warn({ err: (err as Error).message }, 'a server event listener failed');
      }
    }
  }
}
