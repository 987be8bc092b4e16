import type { Logger } from '../logger.js';
import type { Keys } from '../store/keys.js';
import type { RedisClient } from '../store/redis-connection.js';

/** How often a live node renews its entry, and how long an entry outlives its last renewal. */
const RENEW_EVERY_MS = 1_000;
const ENTRY_TTL_MS = 3_000;

/**
 * Which relay addresses belong to live node processes: one key per address with a short TTL, which
 * the process renews every second and deletes when it drains. A process killed with -9 drops out
 * within ENTRY_TTL_MS.
 *
 * Liveness used to be PUBLISH's receiver count (0 receivers: the target is dead). On a Redis
 * Cluster that count covers only the shard that ran the command, and during a subscriber's
 * reconnect it is 0 for a live node; a registry answers the same on every shard and across a
 * reconnect. Its key is one slot (`{address}`), read with one EXISTS.
 */
export class NodeRegistry {
  private timer: NodeJS.Timeout | undefined;
  // Register as soon as the connection is (again) up, not only at the next tick: a node is
  // relayed to as soon as it serves its first request.
  private readonly renew = (): Promise<unknown> =>
    this.deps.redis
      .set(this.deps.keys.liveNode(this.deps.address), '1', 'PX', ENTRY_TTL_MS)
      // Redis is down or failing over (readiness says so): the entry lapses, and is back on the next renewal.
      .catch((err: Error) =>
        this.deps.logger.debug({ err: err.message }, 'could not renew the node registry entry'),
      );

  constructor(private readonly deps: { redis: RedisClient; keys: Keys; address: string; logger: Logger }) {}

  /**
   * Registers this process and keeps renewing until `close()`; idempotent. Resolves once the first
   * registration was answered (or failed: it is retried every second), so that a peer relaying to
   * this node right after it started does not find it missing and answer `unreachable`.
   */
  async start(): Promise<void> {
    if (this.timer) return;
    this.deps.redis.on('ready', this.renew);
    this.timer = setInterval(this.renew, RENEW_EVERY_MS);
    this.timer.unref();
    await this.renew();
  }

  async isAlive(address: string): Promise<boolean> {
    return (await this.deps.redis.exists(this.deps.keys.liveNode(address))) === 1;
  }

  /** Leaves the registry at once: peers relaying to this process learn it is gone without waiting out the TTL. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.deps.redis.off('ready', this.renew);
    await this.deps.redis.del(this.deps.keys.liveNode(this.deps.address)).catch(() => undefined);
  }
}
