import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { waitFor } from './ports.js';
import { startTestRedis, type TestRedis } from './redis-server.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

/**
 * An ElastiCache replication group on loopback: a primary, a replica (`--replicaof`), and a
 * primary endpoint (a TCP proxy) that the nodes connect to. `failover()` does what a Multi-AZ
 * failover does to the clients: the replica is promoted, the old primary comes back as a replica
 * of it (connections still open to it get `READONLY`), and after a while the endpoint moves.
 */
export interface ReplicatedRedis {
  /** The primary endpoint: give this to the nodes as REDIS_URL. */
  url: string;
  proxy: TcpProxy;
  /** Whichever server is the primary now. */
  readonly primary: TestRedis;
  readonly replica: TestRedis;
  failover(options?: FailoverOptions): Promise<FailoverTimes>;
  close(): Promise<void>;
}

export interface FailoverOptions {
  /**
   * How long the endpoint keeps naming the old primary after the promotion (ElastiCache's DNS
   * update and its TTL). Meanwhile every reconnect lands on the demoted primary again.
   */
  endpointMovesAfterMs?: number;
}

/** When each step happened (performance.now()). */
export interface FailoverTimes {
  /** Writes paused on the old primary: the failover began. */
  startedAt: number;
  /** The replica is the primary, the old primary its replica. */
  promotedAt: number;
  /** The endpoint names the new primary. */
  endpointMovedAt: number;
}

export async function startReplicatedRedis(): Promise<ReplicatedRedis> {
  let primary = await startTestRedis();
  let replica = await startTestRedis({ replicaOf: primary.port });
  await waitFor('the replica to sync', async () => (await replication(replica.client())).linkUp, 15_000);
  const proxy = await startTcpProxy(primary.port);

  return {
    url: proxy.url,
    proxy,
    get primary() {
      return primary;
    },
    get replica() {
      return replica;
    },
    async failover(options = {}) {
      const oldPrimary = primary.client();
      const newPrimary = replica.client();
      const startedAt = performance.now();
      // A planned failover loses no acknowledged write: writes wait (at most PAUSE_MS) while the
      // replica catches up. Clients see those writes answered READONLY once the old primary is a
      // replica; an automatic failover after a crash may lose the last writes, which is Redis's
      // replication, not the app's concern.
      await oldPrimary.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'WRITE');
      const offset = (await replication(oldPrimary)).offset;
      await waitFor('the replica to catch up', async () => (await replication(newPrimary)).offset >= offset);
      await newPrimary.call('REPLICAOF', 'NO', 'ONE');
      await oldPrimary.call('REPLICAOF', '127.0.0.1', String(replica.port));
      await oldPrimary.call('CLIENT', 'UNPAUSE');
      const promotedAt = performance.now();
      [primary, replica] = [replica, primary];
      await sleep(options.endpointMovesAfterMs ?? 2_000);
      proxy.retarget(primary.port);
      return { startedAt, promotedAt, endpointMovedAt: performance.now() };
    },
    close: async () => {
      await proxy.close();
      await Promise.all([primary.close(), replica.close()]);
    },
  };
}

/** The longest writes wait on the old primary during a planned failover. */
const PAUSE_MS = 5_000;

async function replication(client: Redis): Promise<{ offset: number; linkUp: boolean }> {
  const info = String(await client.info('replication'));
  const field = (name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
  return {
    offset: Number(field('master_repl_offset') ?? field('slave_repl_offset') ?? 0),
    linkUp: field('master_link_status') === 'up',
  };
}
