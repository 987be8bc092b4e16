import { createServer, type Server } from 'node:http';
import { type AddressInfo, Server as NetServer } from 'node:net';
import { createMcpHandler } from '@modelcontextprotocol/server';
import { createAdminGate } from './auth/admin.js';
import { type EventLog, EventLogBus } from './bus/event-log.js';
import { MemoryEventLog } from './bus/memory-event-log.js';
import { RedisEventLog } from './bus/redis-event-log.js';
import type { Config } from './config.js';
import { createGateway } from './gateway/index.js';
import { createHttpApp } from './http/app.js';
import { createMcpEndpoint } from './http/mcp-endpoint.js';
import { metricsApp, type ReadinessCheck } from './http/operations.js';
import { requestTracking } from './http/request-tracking.js';
import { createHttpSecurity } from './http/security/http-security.js';
import { createLogger, type Logger, redactUrlCredentials } from './logger.js';
import { createServerFactory } from './mcp/server-factory.js';
import { createMetrics } from './metrics.js';
import { PrincipalQuotas } from './quotas/principal-quotas.js';
import { MemoryNodeRelay } from './relay/memory-relay.js';
import type { NodeRelay } from './relay/node-relay.js';
import { RedisNodeRelay } from './relay/redis-relay.js';
import {
  createMemoryStreamOwners,
  createRedisStreamOwners,
  type StreamOwnerRegistry,
} from './relay/stream-owners.js';
import { StreamableSessionManager } from './sessions/streamable-session-manager.js';
import { createCommandHealth } from './store/command-health.js';
import type { SessionEventStores } from './store/event-store.js';
import { createMemoryEventStores } from './store/event-store-memory.js';
import { createRedisEventStores } from './store/event-store-redis.js';
import { createKeys } from './store/keys.js';
import type { LeaseStore } from './store/leases.js';
import { createMemoryLeases } from './store/leases-memory.js';
import { createRedisLeases } from './store/leases-redis.js';
import { createMemoryStore } from './store/memory-store.js';
import { createRateLimiters, type RateLimiters } from './store/rate-limiters.js';
import { connectRedis, type RedisClient, waitUntilReady } from './store/redis-connection.js';
import { createRedisStore } from './store/redis-store.js';
import { SubscriberWatch } from './store/subscriber-watch.js';
import type { FleetStore } from './store/types.js';
import { LegacySseSessions } from './transports/legacy-sse/legacy-sse-sessions.js';
import { legacySseRouter } from './transports/legacy-sse/routes.js';

/** The longest a drain waits for idle keep-alive connections to be closed by the proxy in front. */
const DRAIN_SETTLE_MS = 6_000;

export interface RunningNode {
  nodeId: string;
  url: string;
  /** The METRICS_PORT listener's base URL, when METRICS_PORT is set. */
  metricsUrl: string | undefined;
  logger: Logger;
  /** Stops taking work, lets calls in flight finish, closes streams and Redis. Idempotent. */
  drain(reason: string): Promise<void>;
}

interface Shared {
  store: FleetStore;
  /** What every stream of every era hears: changes, a session's own messages, session ends. */
  eventLog: EventLog;
  /** Node-to-node delivery of client messages that reached the wrong node. */
  relay: NodeRelay;
  /** Which node holds each 2024-11-05 SSE stream. */
  streamOwners: StreamOwnerRegistry;
  /** Resumable 2025-era streams. */
  eventStores: SessionEventStores;
  /** Per-IP and per-principal limits, shared by all nodes through Redis. */
  rateLimiters: RateLimiters;
  /** What `/ready` checks besides the drain. */
  readiness: ReadinessCheck[];
  /** What each principal holds (sessions, streams), counted across all nodes. */
  leases: LeaseStore;
}

/** Wires one node: the shared store, the MCP handlers for every era, and the HTTP server. */
export async function startNode(
  config: Config,
  logger = createLogger({ level: config.logLevel, nodeId: config.nodeId }),
): Promise<RunningNode> {
  const metrics = createMetrics({ nodeId: config.nodeId });
  const { store, eventLog, relay, streamOwners, eventStores, rateLimiters, readiness, leases } =
    config.redisUrl
      ? await connectShared(config, config.redisUrl, logger, metrics)
      : embedded(config, logger);
  const bus = new EventLogBus(eventLog, logger);
  const heartbeatMs = config.sseHeartbeatSeconds * 1000;
  // Without authentication every caller is the same principal: a per-principal cap would be global.
  const perPrincipal = config.auth.mode !== 'none';
  const quotas = new PrincipalQuotas({
    leases,
    sessionsPerPrincipal: perPrincipal ? config.quotas.sessionsPerPrincipal : 0,
    streamsPerPrincipal: perPrincipal ? config.quotas.streamsPerPrincipal : 0,
    sessionTtlMs: config.sessionTtlSeconds * 1000,
    heartbeatMs,
    logger,
  });

  const createServerInstance = createServerFactory({
    nodeId: config.nodeId,
    store,
    metrics,
    logger,
    stateKey: config.stateKey,
    previousStateKey: config.previousStateKey,
    bus,
    toolScopes: config.auth.toolScopes,
    conformanceFixtures: config.conformanceFixtures,
    admin: createAdminGate(config.auth),
  });
  const modern = createMcpHandler((ctx) => createServerInstance({ era: ctx.era, authInfo: ctx.authInfo }), {
    legacy: 'reject',
    bus,
    keepAliveMs: heartbeatMs,
    maxSubscriptions: config.quotas.listenStreamsPerNode,
    onerror: (err) => logger.debug({ err: err.message }, '2026-07-28 request rejected or failed'),
  });
  const sessions = new StreamableSessionManager({
    store: store.sessions,
    createServer: createServerInstance,
    metrics,
    logger,
    cacheMax: config.sessionCacheMax,
    warmMs: config.sessionWarmSeconds * 1000,
    heartbeatMs,
    eventStores,
    eventLog,
    retryIntervalMs: config.eventStream.retryMs,
    relay,
    quotas,
  });
  const sseSessions = new LegacySseSessions({
    store: store.sessions,
    owners: streamOwners,
    relay,
    createServer: createServerInstance,
    metrics,
    logger,
    heartbeatMs,
    quotas,
    toolScopes: config.auth.toolScopes,
    // Behind a load balancer that strips a path prefix (`ingress.path`), the endpoint a client is
    // told to POST to must carry the prefix back: PUBLIC_URL names it.
    messagesPath: `${config.http.publicUrl ? new URL(config.http.publicUrl).pathname.replace(/\/+$/, '') : ''}/messages`,
  });
  // Every change published on any node reaches the 2024 streams held here. The 2026 listen
  // streams subscribe to the bus themselves, inside createMcpHandler, and the 2025 GET streams
  // read the event log inside the session manager.
  bus.subscribe((event) => sseSessions.notify(event));
  eventLog.start();

  const gateway = createGateway({
    config: config.gateway,
    stateKey: config.stateKey,
    previousStateKey: config.previousStateKey,
    registry: metrics.registry,
    logger,
  });
  await gateway.start();

  let draining = false;
  const tracking = requestTracking({ logger, metrics, isDraining: () => draining });
  const app = createHttpApp({
    host: config.host,
    logger,
    metrics,
    store,
    node: {
      nodeId: config.nodeId,
      isDraining: () => draining,
      activeSessions: () => sessions.activeSessions + sseSessions.activeSessions,
      readiness,
    },
    metricsElsewhere: config.metricsPort !== undefined,
    tracking: tracking.middleware,
    mcp: createMcpEndpoint({ modern, sessions, store, logger }),
    legacySse: legacySseRouter({ sessions: sseSessions, store, logger }),
    gateway: gateway.router,
    security: createHttpSecurity({ config, limiters: rateLimiters, logger }),
  });

  const server = createServer(app);
  // SSE streams are long-lived: no per-request timeout, but bounded header reading.
  server.requestTimeout = 0;
  server.headersTimeout = 30_000;
  // Longer than the idle timeout of the proxy in front (ALB, ingress nginx), so that the proxy,
  // never this node, closes an idle connection: a node closing one the proxy is reusing is a 502.
  server.keepAliveTimeout = config.httpKeepAliveSeconds * 1000;
  const url = await listen(server, config.port, config.host);
  logger.info(
    {
      url,
      mode: store.mode === 'redis' ? 'cluster' : 'single-node',
      redis: config.redisUrl ? redactUrlCredentials(config.redisUrl) : undefined,
    },
    'listening',
  );
  // Scrapes are plain GETs of a few KiB: no per-request tuning, and it keeps serving through a drain.
  const metricsServer = config.metricsPort === undefined ? undefined : createServer(metricsApp(metrics));
  const metricsUrl = metricsServer && (await listen(metricsServer, config.metricsPort ?? 0, config.host));
  if (metricsUrl) logger.info({ url: metricsUrl }, 'metrics listening');

  let drained: Promise<void> | undefined;
  const drain = (reason: string) => {
    drained ??= (async () => {
      draining = true;
      const graceMs = config.shutdownGraceSeconds * 1000;
      const deadline = Date.now() + graceMs - Math.min(2_000, graceMs / 5);
      logger.info(
        { reason, inFlight: tracking.inFlight(), graceSeconds: config.shutdownGraceSeconds },
        'draining',
      );
      // Stop accepting connections, but never close an idle keep-alive connection from this side:
      // that races a proxy sending a request on it at that instant, and nginx then answers 502 and
      // cannot retry a POST (seen in test/e2e/cluster-faults.test.ts). Responses during the drain
      // carry `Connection: close`; idle connections end by the proxy's idle timeout (nginx: 4 s,
      // which must stay below ours) or by ours (keepAliveTimeout). So wait that long (at most
      // DRAIN_SETTLE_MS: an ALB has stopped sending to a deregistered target by SIGTERM, so its idle
      // connections are no hazard), and for the calls in flight, before closing the streams.
      stopAccepting(server);
      sseSessions.beginDrain();
      const settleUntil = Math.min(
        deadline,
        Date.now() + Math.min(server.keepAliveTimeout + 1_000, DRAIN_SETTLE_MS),
      );
      const busy = () => tracking.inFlight() > 0 || sseSessions.unansweredCalls() > 0;
      while ((busy() || Date.now() < settleUntil) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      if (busy()) {
        logger.warn(
          { inFlight: tracking.inFlight(), sseCalls: sseSessions.unansweredCalls() },
          'grace period over with calls in flight',
        );
      }
      await sessions.closeAll();
      await sseSessions.closeAll();
      await gateway.close();
      await modern.close();
      quotas.close();
      await relay.close();
      server.closeAllConnections();
      await store.close();
      if (metricsServer) {
        metricsServer.closeAllConnections();
        metricsServer.close();
      }
      logger.info('drained');
    })();
    return drained;
  };

  return { nodeId: config.nodeId, url, metricsUrl, logger, drain };
}

function embedded(config: Config, logger: Logger): Shared {
  logger.warn(
    'REDIS_URL is not set: running as a SINGLE NODE on the embedded in-memory store. Sessions live in this process only; do not put this node behind a load balancer with others.',
  );
  if (config.stateKeyGenerated) {
    logger.warn(
      'MCP_STATE_KEY is not set: generated a per-process key. Multi-round-trip state will not survive a restart.',
    );
  }
  return {
    store: createMemoryStore({
      sessionTtlSeconds: config.sessionTtlSeconds,
      memoryQuota: memoryQuota(config),
    }),
    eventLog: new MemoryEventLog(config.eventLog.maxEntries, logger),
    relay: new MemoryNodeRelay(),
    streamOwners: createMemoryStreamOwners({ ttlSeconds: streamOwnerTtlSeconds(config) }),
    eventStores: createMemoryEventStores({
      maxEventsPerStream: config.eventStream.maxEvents,
      ttlSeconds: config.eventStream.ttlSeconds,
    }),
    rateLimiters: createRateLimiters({ config: config.rateLimit, keys: createKeys(config.redisKeyPrefix) }),
    readiness: [],
    leases: createMemoryLeases(),
  };
}

function memoryQuota(config: Config) {
  return { maxKeys: config.quotas.memoryKeys, maxBytes: config.quotas.memoryBytes };
}

/** An owner record outlives two missed heartbeats, then expires. */
function streamOwnerTtlSeconds(config: Config): number {
  return config.sseHeartbeatSeconds * 3;
}

async function connectShared(
  config: Config,
  redisUrl: string,
  logger: Logger,
  metrics: ReturnType<typeof createMetrics>,
): Promise<Shared> {
  const target = { url: redisUrl, cluster: config.redisCluster };
  const redis = connectRedis(target, { logger, role: 'commands', nodeId: config.nodeId });
  const subscriber = connectRedis(target, {
    logger,
    role: 'events',
    nodeId: config.nodeId,
    subscriber: true,
  });
  // A blocking XREAD holds its connection: the event log reads on one of its own.
  const logReader = connectRedis(target, { logger, role: 'event-log', nodeId: config.nodeId });
  const keys = createKeys(config.redisKeyPrefix);
  const eventLog = new RedisEventLog({
    redis,
    reader: logReader,
    key: keys.eventLog(),
    maxEntries: config.eventLog.maxEntries,
    logger,
  });
  const relay = new RedisNodeRelay({ publisher: redis, subscriber, keys, nodeId: config.nodeId, logger });
  // Subscribes the relay, retrying until Redis answers (a node may start during an outage), then
  // checks that the subscriber hears this node's own SPUBLISH.
  const subscriberWatch = new SubscriberWatch({
    subscriber,
    publisher: redis,
    channels: [keys.nodeProbe(relay.address)],
    logger,
  });
  subscriberWatch.start([{ name: 'node relay', subscribe: () => relay.start() }]);
  if (!(await waitUntilReady(redis, 5_000))) {
    logger.error('redis is unreachable at start; serving 503 until it is back');
  }
  const health = createCommandHealth();
  const store = createRedisStore({
    redis,
    keys,
    sessionTtlSeconds: config.sessionTtlSeconds,
    memoryQuota: memoryQuota(config),
    metrics,
    health,
    probeKey: keys.nodeProbe(relay.address),
    logger,
    onClose: async () => {
      subscriberWatch.stop();
      await eventLog.close();
      await quitAll([redis, subscriber]);
    },
  });
  const readiness: ReadinessCheck[] = [
    {
      name: 'redis',
      problem: () => {
        if (redis.status !== 'ready') return 'redis unreachable';
        const failing = health.problem();
        return failing ? `redis commands failing: ${failing}` : undefined;
      },
    },
    {
      name: 'redisSubscriber',
      problem: () => {
        const problem = subscriberWatch.problem();
        return problem ? `redis subscriber ${problem}` : undefined;
      },
    },
    {
      name: 'eventLog',
      problem: () => {
        const problem = eventLog.problem();
        return problem ? `event log reader: ${problem}` : undefined;
      },
    },
  ];
  return {
    store,
    eventLog,
    relay,
    streamOwners: createRedisStreamOwners({ redis, keys, ttlSeconds: streamOwnerTtlSeconds(config) }),
    eventStores: createRedisEventStores({
      redis,
      keys,
      limits: { maxEventsPerStream: config.eventStream.maxEvents, ttlSeconds: config.eventStream.ttlSeconds },
      logger,
      writer: { address: relay.address, isAlive: (address) => relay.isAlive(address) },
    }),
    rateLimiters: createRateLimiters({ config: config.rateLimit, redis, keys }),
    readiness,
    leases: createRedisLeases({ redis, keys }),
  };
}

async function quitAll(connections: RedisClient[]): Promise<void> {
  await Promise.allSettled(
    connections.map(async (connection) => {
      if (connection.status === 'ready') await connection.quit();
      else connection.disconnect();
    }),
  );
}

/**
 * `http.Server#close` also closes idle keep-alive connections at once (Node 19+); the plain
 * `net.Server#close` only stops accepting, which is what a drain wants first.
 */
function stopAccepting(server: Server): void {
  NetServer.prototype.close.call(server);
}

function listen(server: Server, port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address() as AddressInfo;
      const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      resolve(`http://${shownHost}:${address.port}`);
    });
  });
}
