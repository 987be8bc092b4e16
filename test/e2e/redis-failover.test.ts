import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { type AppNode, clusterEnv, startAppNode } from '../helpers/app-node.js';
import { startNginx, type TestNginx } from '../helpers/nginx.js';
import { NodeWatch } from '../helpers/node-watch.js';
import { waitFor } from '../helpers/ports.js';
import { type ReplicatedRedis, startReplicatedRedis } from '../helpers/redis-failover.js';
import { startTestRedis, type TestRedis } from '../helpers/redis-server.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { ALL_ERAS, connectEraClient, type EraClient } from './support/era-clients.js';
import { EchoLoad, formatCounts } from './support/load.js';
import { ChangePublisher, loggedChangesAfter } from './support/notifications.js';

/**
 * Redis failing over under load, as ElastiCache does it, with real nodes (child processes) behind
 * the local nginx ingress and the real clients of every era calling throughout:
 * - Multi-AZ failover: a primary and a replica behind an endpoint (a TCP proxy) that moves to the
 *   promoted replica 2 s after the promotion, as ElastiCache's DNS does; connections still open to
 *   the old primary, now a replica, get `READONLY`.
 * - Half-open: the endpoint stops forwarding without closing anything, then new connections work
 *   again while the old sockets stay dead.
 */
const CLIENTS_PER_ERA = 2;
/** The bar: service resumes within this long after the failover began. */
const RESUME_WITHIN_MS = 15_000;
/** Limits out of reach, but the limiter still runs on Redis (and meets READONLY too). */
const HIGH_RATE_LIMITS = { RATE_LIMIT_PER_IP: '1000000', RATE_LIMIT_PER_PRINCIPAL: '1000000' };

describe('end to end: Redis failover and half-open sockets, under load through nginx', () => {
  const stops: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  });

  /**
   * Two nodes on `redisUrl` behind nginx, and CLIENTS_PER_ERA clients of each era that each
   * remembered a value (under its own key: 2026 clients share one anonymous principal).
   */
  async function setUp(name: string, redisUrl: string) {
    const nodes: AppNode[] = [];
    for (const i of [1, 2]) {
      const node = await startAppNode({
        nodeId: `${name}-${i}`,
        env: clusterEnv(redisUrl, HIGH_RATE_LIMITS),
      });
      stops.push(() => node.stop());
      nodes.push(node);
    }
    const nginx: TestNginx = await startNginx({
      upstreams: nodes.map((n) => new URL(n.url).host),
      failTimeoutSeconds: 2,
    });
    stops.push(() => nginx.stop());
    const clients: EraClient[] = [];
    for (const era of ALL_ERAS) {
      for (let i = 1; i <= CLIENTS_PER_ERA; i++) {
        const client = await connectEraClient(era, nginx.url, `${name}-${era.slice(0, 4)}-${i}`);
        stops.push(() => client.close());
        await client.remember(`kept-${client.name}`, `by ${client.name}`);
        clients.push(client);
      }
    }
    return { nodes, clients, watch: new NodeWatch(nodes), url: nginx.url };
  }

  /**
   * Every call that did not succeed was answered 503 (by a node, or by nginx when no node would take
   * it), with a reason; none went unanswered. (EchoLoad files a `relay_timeout` 503 under `lost` for
   * the word "timeout" in it; the HTTP status tells them apart.)
   */
  function expectOnly503s(load: EchoLoad, since: number) {
    for (const era of ALL_ERAS) {
      for (const failure of load.failures(era)) {
        expect(failure.httpStatus, `${era}: ${failure.error}`).toBe(503);
        expect(failure.error, era).toMatch(/store_unavailable|no_upstream|relay_timeout/);
        expect(failure.startedAt, `${era}: failed before the fault`).toBeGreaterThan(since - 1_000);
      }
    }
  }

  /** A raw initialize during the fault got 503 with Retry-After, a JSON-RPC error, and no session. */
  function expectInitializeRefusedCleanly(watch: NodeWatch, since: number) {
    const refused = watch.initializes.filter((s) => s.at > since && s.status !== 200);
    expect(refused.length, 'no initialize reached a node during the fault').toBeGreaterThan(0);
    for (const sample of refused) {
      expect(sample).toMatchObject({ status: 503, retryAfter: '2', sessionId: null });
      expect(sample.body).toMatchObject({ jsonrpc: '2.0', error: { data: { reason: 'store_unavailable' } } });
    }
  }

  /** No session lost: same ids, the values remembered before, and calls that work. */
  async function expectSessionsKept(clients: EraClient[], sessionsBefore: (string | undefined)[]) {
    expect(clients.map((c) => c.sessionId())).toEqual(sessionsBefore);
    for (const client of clients) {
      expect(await client.recall(`kept-${client.name}`), client.name).toBe(`by ${client.name}`);
      expect(await client.echo(`${client.name} after`, 5_000)).toBe(`${client.name} after`);
      expect(client.sse?.reconnectFailures ?? [], client.name).toEqual([]);
    }
  }

  function report(scenario: string, load: EchoLoad, faultAt: number, resumedAt: number) {
    for (const era of ALL_ERAS) {
      console.log(formatCounts(scenario, era, load.counts(era)));
      const reasons = load.failureReasons(era);
      if (Object.keys(reasons).length > 0)
        console.log(`[${scenario}] ${era}: failures ${JSON.stringify(reasons)}`);
      const slowest = Math.max(0, ...load.failures(era).map((f) => f.endedAt - f.startedAt));
      console.log(`[${scenario}] ${era}: slowest failure ${(slowest / 1000).toFixed(2)} s`);
    }
    console.log(
      `[${scenario}] service resumed ${((resumedAt - faultAt) / 1000).toFixed(2)} s after the fault`,
    );
  }

  /** When the last failed call ended: every call started after it succeeded. */
  function resumedAfter(load: EchoLoad, faultAt: number): number {
    return Math.max(faultAt, ...ALL_ERAS.flatMap((era) => load.failures(era).map((f) => f.endedAt)));
  }

  /**
   * Waits for every node to be ready again, then for every era to complete 10 calls counted after
   * the later of that moment and the last failure (the assertions count from there too), and stops
   * the load and the watch. Returns when the nodes were ready, and when service resumed.
   */
  async function recover(nodes: AppNode[], load: EchoLoad, watch: NodeWatch, faultAt: number) {
    await waitFor(
      'every node to be ready again',
      async () => {
        for (const node of nodes) if ((await fetch(new URL('/ready', node.url))).status !== 200) return false;
        return true;
      },
      RESUME_WITHIN_MS,
      100,
    );
    const readyAt = performance.now();
    await waitFor(
      'every era to complete 10 calls once ready again and past the last failure',
      () => {
        const since = Math.max(readyAt, resumedAfter(load, faultAt));
        return ALL_ERAS.every((era) => load.counts(era, (r) => r.startedAt > since).ok > 10);
      },
      30_000,
      100,
    );
    await Promise.all([load.stop(), watch.stop()]);
    return { readyAt, resumedAt: resumedAfter(load, faultAt) };
  }

  it('Multi-AZ failover: 503 with Retry-After meanwhile, /ready 503 then 200, service back within 15 s, no session or notification lost', async () => {
    const redis: ReplicatedRedis = await startReplicatedRedis();
    stops.push(() => redis.close());
    const { nodes, clients, watch, url } = await setUp('failover', redis.url);
    const sessionsBefore = clients.map((c) => c.sessionId());
    const load = new EchoLoad(clients);
    // Changes published throughout, through the ingress: those published during the failover fail
    // (503) or land in the event log; every one in the log reaches every 2025 listener, once.
    const publisher = await ChangePublisher.connect(url);
    stops.push(() => publisher.close());
    load.start();
    watch.start();
    publisher.start(200);
    await sleep(2_000);

    const failover = await redis.failover({ endpointMovesAfterMs: 2_000 });
    const { readyAt, resumedAt } = await recover(nodes, load, watch, failover.startedAt);
    await sleep(1_000); // a few more changes once service is back
    await publisher.stop();
    report('failover', load, failover.startedAt, resumedAt);
    expect(resumedAt - failover.startedAt).toBeLessThan(RESUME_WITHIN_MS);
    expectOnly503s(load, failover.startedAt);
    // The failover was felt (the 2025 era touches Redis on every call), and then it was over.
    expect(load.failures('2025 Streamable HTTP').length).toBeGreaterThan(0);
    for (const era of ALL_ERAS) {
      expect(load.counts(era, (r) => r.startedAt > readyAt).failed, era).toBe(0);
      expect(load.counts(era, (r) => r.startedAt > resumedAt).ok, era).toBeGreaterThan(10);
    }
    // A load balancer took every node out while its Redis was failing over, and back in after.
    for (const node of nodes) {
      const samples = watch.readyOf(node.nodeId, failover.startedAt);
      expect(
        samples.some((s) => s.status === 503),
        node.nodeId,
      ).toBe(true);
      expect(samples.at(-1)?.status, node.nodeId).toBe(200);
    }
    expectInitializeRefusedCleanly(watch, failover.startedAt);
    // Notifications: the event log readers read on from where they stopped once they reconnected.
    console.log(
      `[failover] notifications: published ${publisher.attempted}, confirmed ${publisher.confirmed} (the rest failed during the failover)`,
    );
    expect(publisher.confirmed).toBeGreaterThan(10);
    await sleep(500); // the last ones are on their way down the streams
    for (const listener of clients.filter((c) => c.era === '2025 Streamable HTTP')) {
      const since = listener.getStreams[0]?.primingId;
      expect(since, `${listener.name}: its GET stream opened with a priming event`).toBeDefined();
      const logged = await loggedChangesAfter(redis.primary.client(), 'test:', since!);
      const delivered = listener.getStreams.flatMap((stream) => stream.eventIds);
      console.log(
        `[failover] ${listener.name}: received ${delivered.length} of ${publisher.confirmed} confirmed, ${logged.length} in the log`,
      );
      expect(new Set(delivered).size, `${listener.name}: an event delivered twice`).toBe(delivered.length);
      expect([...delivered].sort(), listener.name).toEqual([...logged].sort());
      expect(delivered.length, listener.name).toBeGreaterThanOrEqual(publisher.confirmed);
    }
    // Both nodes moved to the new primary: their relay subscribers hear what is published there,
    // and their event log readers read it.
    const promoted = redis.primary.client();
    expect(await promoted.pubsub('SHARDCHANNELS', 'test:relay:*')).toHaveLength(nodes.length);
    // A reader checks its server's role every 5 s (XREAD gets no READONLY on a replica).
    const readersOnPromoted = async () =>
      (String(await promoted.call('CLIENT', 'LIST')).match(/ cmd=xread /g) ?? []).length;
    await waitFor(
      'the event log readers to read the new primary',
      async () => ((await readersOnPromoted()) === nodes.length ? true : undefined),
      10_000,
    );
    await expectSessionsKept(clients, sessionsBefore);
  }, 120_000);

  it('half-open: calls fail fast with 503 while the endpoint forwards nothing, then recover on new sockets', async () => {
    const redis: TestRedis = await startTestRedis();
    stops.push(() => redis.close());
    const proxy: TcpProxy = await startTcpProxy(redis.port);
    stops.push(() => proxy.close());
    const { nodes, clients, watch } = await setUp('half-open', proxy.url);
    const sessionsBefore = clients.map((c) => c.sessionId());
    const load = new EchoLoad(clients);
    load.start();
    watch.start();
    await sleep(2_000);

    const blackholedAt = performance.now();
    proxy.blackhole();
    await sleep(6_000);
    // New connections work again; the sockets open during the fault stay dead for good.
    proxy.restore();
    const restoredAt = performance.now();
    const { readyAt, resumedAt } = await recover(nodes, load, watch, blackholedAt);
    report('half-open', load, blackholedAt, resumedAt);
    expect(resumedAt - restoredAt).toBeLessThan(RESUME_WITHIN_MS);
    expectOnly503s(load, blackholedAt);
    expect(load.failures('2025 Streamable HTTP').length).toBeGreaterThan(0);
    // Fast: a call waits at most for the command timeouts (2 s each), never for the client's own.
    for (const era of ALL_ERAS) {
      for (const failure of load.failures(era))
        expect(failure.endedAt - failure.startedAt).toBeLessThan(8_000);
      expect(load.counts(era, (r) => r.startedAt > readyAt).failed, era).toBe(0);
    }
    for (const node of nodes) {
      const during = watch.readyOf(node.nodeId, blackholedAt).filter((s) => s.at < restoredAt);
      expect(
        during.some((s) => s.status === 503),
        node.nodeId,
      ).toBe(true);
    }
    expectInitializeRefusedCleanly(watch, blackholedAt);
    await expectSessionsKept(clients, sessionsBefore);
  }, 120_000);
});
