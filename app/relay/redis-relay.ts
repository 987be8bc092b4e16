import { randomUUID } from 'node:crypto';
import { StoreUnavailableError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Keys } from '../store/keys.js';
import type { RedisClient } from '../store/redis-connection.js';
import {
  type NodeRelay,
  type RelayEnvelope,
  type RelayHandler,
  RelayHandlers,
  type RelayOutcome,
} from './node-relay.js';

type Wire =
  | { type: 'deliver'; id: string; from: string; envelope: RelayEnvelope }
  | { type: 'ack'; id: string; outcome: 'delivered' | 'not-held' };

/**
 * A NodeRelay over Redis pub/sub, with a check at each step because pub/sub is at-most-once:
 * - PUBLISH returns how many subscribers received the message. Every node subscribes its own
 *   channel, and Redis drops a dead process's subscription as soon as its socket closes, so 0
 *   receivers means the target is dead: `unreachable`, at once, with no timeout to wait out.
 * - The target acknowledges on the sender's channel. A message it received but could not hand to
 *   a session answers `not-held`; silence answers `timeout`. So a POST is answered 202 only once
 *   the owner really took the message.
 * (PUBLISH counts only the receivers on the Redis node it runs on; the fleet uses a single
 * primary, as ElastiCache replication groups and the tests do, not Redis Cluster.)
 */
export class RedisNodeRelay implements NodeRelay {
  readonly address: string;
  private readonly handlers = new RelayHandlers();
  private readonly waiting = new Map<string, (outcome: RelayOutcome) => void>();
  private readonly channel: string;
  private readonly onMessage = (channel: string, payload: string) => {
    if (channel === this.channel) this.receive(payload);
  };

  constructor(
    private readonly deps: {
      publisher: RedisClient;
      /** The node's subscriber connection, shared with the event bus (it can run nothing else). */
      subscriber: RedisClient;
      keys: Keys;
      nodeId: string;
      logger: Logger;
      ackTimeoutMs?: number;
    },
  ) {
    this.address = `${deps.nodeId}.${randomUUID().slice(0, 8)}`;
    this.channel = deps.keys.relayChannel(this.address);
    deps.subscriber.on('message', this.onMessage);
  }

  async start(): Promise<void> {
    await this.deps.subscriber.subscribe(this.channel);
  }

  async close(): Promise<void> {
    this.deps.subscriber.off('message', this.onMessage);
    for (const resolve of this.waiting.values()) resolve('timeout');
    this.waiting.clear();
  }

  onEnvelope(kind: RelayEnvelope['kind'], handler: RelayHandler): void {
    this.handlers.register(kind, handler);
  }

  async send(address: string, envelope: RelayEnvelope): Promise<RelayOutcome> {
    const id = randomUUID();
    const acked = new Promise<RelayOutcome>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve('timeout');
      }, this.deps.ackTimeoutMs ?? 3_000);
      this.waiting.set(id, (outcome) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(outcome);
      });
    });
    const wire: Wire = { type: 'deliver', id, from: this.address, envelope };
    const receivers = await this.deps.publisher
      .publish(this.deps.keys.relayChannel(address), JSON.stringify(wire))
      .catch((err: unknown) => {
        this.waiting.get(id)?.('timeout');
        throw new StoreUnavailableError('relay.publish', err);
      });
    if (receivers === 0) this.waiting.get(id)?.('unreachable');
    return acked;
  }

  private receive(payload: string): void {
    let wire: Wire;
    try {
      wire = JSON.parse(payload) as Wire;
    } catch {
      this.deps.logger.warn('dropped a malformed relay message');
      return;
    }
    if (wire.type === 'ack') {
      this.waiting.get(wire.id)?.(wire.outcome);
      return;
    }
    this.handlers
      .dispatch(wire.envelope)
      .catch((err: Error) => {
        this.deps.logger.warn(
          { err: err.message, kind: wire.envelope.kind, sessionId: wire.envelope.sessionId },
          'a relayed message could not be delivered',
        );
        return 'not-held' as const;
      })
      .then((outcome) => {
        const ack: Wire = { type: 'ack', id: wire.id, outcome };
        return this.deps.publisher.publish(this.deps.keys.relayChannel(wire.from), JSON.stringify(ack));
      })
      .catch((err: Error) =>
        this.deps.logger.warn({ err: err.message }, 'could not acknowledge a relayed message'),
      );
  }
}
