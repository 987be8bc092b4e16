import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger.js';
import type { Keys } from '../store/keys.js';
import type { RedisClient } from '../store/redis-connection.js';
import { classifyRedisError, isOutage, storeError } from '../store/redis-errors.js';
import { defineScripts, type ScriptCall } from '../store/redis-store.js';
import { NodeRegistry } from './node-registry.js';
import {
  type NodeRelay,
  type RelayEnvelope,
  type RelayHandler,
  RelayHandlers,
  type RelayOutcome,
} from './node-relay.js';

/** A message in a node's inbox. */
interface Delivery {
  id: string;
  /** The sender's address: the ack goes to its channel. */
  from: string;
  envelope: RelayEnvelope;
}

/** What a node's relay channel carries: the doorbell (an empty message) or an ack. */
interface Ack {
  id: string;
  outcome: 'delivered' | 'not-held';
}

const DOORBELL = '';
/** A node that is alive drains its inbox at least this often, doorbell heard or not. */
const DRAIN_EVERY_MS = 1_000;
/** Messages taken per LPOP. */
const DRAIN_BATCH = 100;
/** A dead node's inbox is gone this long after the last push (its messages had nowhere to go). */
const INBOX_TTL_SECONDS = 60;
/** More than this waiting in one inbox means its node has stopped taking them: the relay refuses more. */
const INBOX_MAX_MESSAGES = 10_000;

/**
 * A NodeRelay over Redis. Each node process has an inbox (a list) and a channel of its own, which
 * share the `{address}` tag and so one shard of a cluster.
 * - **Durable delivery.** A sender pushes the message into the target's inbox and rings its doorbell
 *   (SPUBLISH of an empty message) in one script; the target drains its inbox on every doorbell and
 *   every second. A doorbell missed while the target's subscriber reconnects, or on a failover,
 *   costs up to a second, not the message; and a body of up to MAX_BODY never passes through
 *   pub/sub, whose output buffer limit disconnects a subscriber sent too much at once.
 * - **Liveness.** The node registry says whether a live process holds the target address: if not,
 *   `unreachable` at once, with no timeout to wait out. The check runs alongside the push, and again
 *   when the ack is late (a process killed with -9 leaves the registry within its TTL).
 * - **Acks.** The target acknowledges on the sender's channel. A message it took but could not hand
 *   to a session answers `not-held`; silence from a live target answers `timeout`. So a POST is
 *   answered 202 only once the owner really took the message. A message is taken once (LPOP), so a
 *   late one still arrives once; the receivers drop a request id they already took, so a client
 *   that re-sends after a 503 runs nothing twice.
 */
export class RedisNodeRelay implements NodeRelay {
  readonly address: string;
  private readonly handlers = new RelayHandlers();
  private readonly waiting = new Map<string, (outcome: RelayOutcome) => void>();
  private readonly channel: string;
  private readonly inbox: string;
  private readonly registry: NodeRegistry;
  private readonly scripts: { relayPush: ScriptCall };
  private readonly onMessage = (channel: string, payload: string) => {
    if (channel !== this.channel) return;
    if (payload === DOORBELL) this.drain();
    else this.receiveAck(payload);
  };
  private drainTimer: NodeJS.Timeout | undefined;
  /** The drain running now, if any; `drainAgain` asks it for one more pass (a doorbell rang meanwhile). */
  private draining: Promise<void> | undefined;
  private drainAgain = false;

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
    this.inbox = deps.keys.relayInbox(this.address);
    this.scripts = defineScripts(deps.publisher, { relayPush: 'relay-push-1.lua' });
    this.registry = new NodeRegistry({
      redis: deps.publisher,
      keys: deps.keys,
      address: this.address,
      logger: deps.logger,
    });
    deps.subscriber.on('smessage', this.onMessage);
  }

  /**
   * Joins the node registry, drains the inbox every second, and subscribes this node's channel
   * (retried until answered, see SubscriberWatch).
   */
  async start(): Promise<void> {
    const registered = this.registry.start();
    this.drainTimer ??= setInterval(() => this.drain(), DRAIN_EVERY_MS).unref();
    await Promise.all([registered, this.deps.subscriber.ssubscribe(this.channel)]);
    this.drain();
  }

  async close(): Promise<void> {
    clearInterval(this.drainTimer);
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
    const delivery: Delivery = { id, from: this.address, envelope };
    const channel = this.deps.keys.relayChannel(address);
    try {
      const [alive, heard] = await Promise.all([
        this.registry.isAlive(address),
        this.scripts.relayPush(
          this.deps.keys.relayInbox(address),
          JSON.stringify(delivery),
          INBOX_TTL_SECONDS,
          INBOX_MAX_MESSAGES,
          channel,
        ),
      ]);
      if (!alive) settle('unreachable');
      else if (heard === -1) {
        this.deps.logger.warn({ address }, 'a node relay inbox is full; refusing to relay more to it');
        settle('timeout');
      }
      return await settled;
    } catch (err) {
      throw storeError('relay.push', err);
    } finally {
      clearTimeout(timer);
      this.waiting.delete(id);
    }
  }

  /** Takes every message waiting in this node's inbox, in order; one drain at a time. */
  private drain(): void {
    if (this.draining) {
      this.drainAgain = true;
      return;
    }
    this.draining = (async () => {
      do {
        this.drainAgain = false;
        for (;;) {
          const batch = await this.deps.publisher.lpop(this.inbox, DRAIN_BATCH);
          if (!batch || batch.length === 0) break;
          for (const payload of batch) this.take(payload);
        }
      } while (this.drainAgain);
    })()
      .catch((err: Error) => {
        // Redis down or failing over: readiness says so already, and the next drain (a second away) retries.
        const level = isOutage(classifyRedisError(err)) ? 'debug' : 'warn';
        this.deps.logger[level]({ err: err.message }, 'could not drain the node relay inbox');
      })
      .finally(() => {
        this.draining = undefined;
      });
  }

  /** JSON from another node; a payload that is not is logged (`warning`) and dropped. */
  private parse<T>(payload: string, warning: string): T | undefined {
    try {
      return JSON.parse(payload) as T;
    } catch {
      this.deps.logger.warn(warning);
      return undefined;
    }
  }

  private receiveAck(payload: string): void {
    const ack = this.parse<Ack>(payload, 'dropped a malformed relay ack');
    if (ack) this.waiting.get(ack.id)?.(ack.outcome);
  }

  /** Hands one message from the inbox to its handler, then acknowledges it on the sender's channel. */
  private take(payload: string): void {
    const delivery = this.parse<Delivery>(payload, 'dropped a malformed relayed message');
    if (!delivery) return;
    const { envelope } = delivery;
    this.handlers
      .dispatch(envelope)
      .catch((err: Error) => {
        this.deps.logger.warn(
          { err: err.message, kind: envelope.kind, sessionId: envelope.sessionId },
          'a relayed message could not be delivered',
        );
        return 'not-held' as const;
      })
      .then((outcome) => {
        const ack: Ack = { id: delivery.id, outcome };
        return this.deps.publisher.spublish(this.deps.keys.relayChannel(delivery.from), JSON.stringify(ack));
      })
      .catch((err: Error) =>
        this.deps.logger.warn({ err: err.message }, 'could not acknowledge a relayed message'),
      );
  }
}
