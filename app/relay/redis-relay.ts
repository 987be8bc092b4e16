import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger.js';
import type { Keys } from '../store/keys.js';
import type { RedisClient } from '../store/redis-connection.js';
import { storeError } from '../store/redis-errors.js';
import { NodeRegistry } from './node-registry.js';
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
 * A NodeRelay over Redis sharded pub/sub (each node SSUBSCRIBEs its own channel, which lives on one
 * shard of a cluster), with a check at each step because pub/sub is at-most-once:
 * - The node registry says whether a live process holds the target address: if not, `unreachable`
 *   at once, with no timeout to wait out. The check runs alongside the SPUBLISH, and again when the
 *   ack is late (a process killed with -9 leaves the registry within its TTL).
 * - The target acknowledges on the sender's channel. A message it received but could not hand to
 *   a session answers `not-held`; silence from a live target answers `timeout`. So a POST is
 *   answered 202 only once the owner really took the message.
 */
export class RedisNodeRelay implements NodeRelay {
  readonly address: string;
  private readonly handlers = new RelayHandlers();
  private readonly waiting = new Map<string, (outcome: RelayOutcome) => void>();
  private readonly channel: string;
  private readonly registry: NodeRegistry;
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
    this.registry = new NodeRegistry({
      redis: deps.publisher,
      keys: deps.keys,
      address: this.address,
      logger: deps.logger,
    });
    deps.subscriber.on('smessage', this.onMessage);
  }

  /** Joins the node registry, and subscribes this node's channel (retried until answered, see SubscriberWatch). */
  async start(): Promise<void> {
    this.registry.start();
    await this.deps.subscriber.ssubscribe(this.channel);
  }

  async close(): Promise<void> {
    await this.registry.close();
    this.deps.subscriber.off('smessage', this.onMessage);
    for (const resolve of this.waiting.values()) resolve('timeout');
    this.waiting.clear();
  }

  isAlive(address: string): Promise<boolean> {
    return this.registry.isAlive(address);
  }

  onEnvelope(kind: RelayEnvelope['kind'], handler: RelayHandler): void {
    this.handlers.register(kind, handler);
  }

  async send(address: string, envelope: RelayEnvelope): Promise<RelayOutcome> {
    const id = randomUUID();
    let settle!: (outcome: RelayOutcome) => void;
    const settled = new Promise<RelayOutcome>((resolve) => {
      settle = resolve;
    });
    this.waiting.set(id, settle);
    const timer = setTimeout(() => {
      // Late: dead (killed, its entry lapsed since) or only slow?
      this.registry.isAlive(address).then(
        (alive) => settle(alive ? 'timeout' : 'unreachable'),
        () => settle('timeout'),
      );
    }, this.deps.ackTimeoutMs ?? 3_000);
    const wire: Wire = { type: 'deliver', id, from: this.address, envelope };
    try {
      const [alive] = await Promise.all([
        this.registry.isAlive(address),
        this.deps.publisher.spublish(this.deps.keys.relayChannel(address), JSON.stringify(wire)),
      ]);
      if (!alive) settle('unreachable');
      return await settled;
    } catch (err) {
      throw storeError('relay.publish', err);
    } finally {
      clearTimeout(timer);
      this.waiting.delete(id);
    }
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
        return this.deps.publisher.spublish(this.deps.keys.relayChannel(wire.from), JSON.stringify(ack));
      })
      .catch((err: Error) =>
        this.deps.logger.warn({ err: err.message }, 'could not acknowledge a relayed message'),
      );
  }
}
