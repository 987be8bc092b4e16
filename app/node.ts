import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMcpHandler, InMemoryServerEventBus, type ServerEventBus } from '@modelcontextprotocol/server';
import type { Redis } from 'ioredis';
import { RedisServerEventBus } from './bus/redis-event-bus.js';
import type { Config } from './config.js';
import { createHttpApp } from './http/app.js';
import { createMcpEndpoint } from './http/mcp-endpoint.js';
import { requestTracking } from './http/request-tracking.js';
import { createLogger, type Logger, redactUrlCredentials } from './logger.js';
import { createServerFactory } from './mcp/server-factory.js';
import { createMetrics } from './metrics.js';
import { StreamableSessionManager } from './sessions/streamable-session-manager.js';
import { createKeys } from './store/keys.js';
import { createMemoryStore } from './store/memory-store.js';
import { connectRedis, waitUntilReady } from './store/redis-connection.js';
import { createRedisStore } from './store/redis-store.js';
import type { FleetStore } from './store/types.js';

export interface RunningNode {
  nodeId: string;
  url: string;
  logger: Logger;
  /** Stops taking work, lets calls in flight finish, closes streams and Redis. Idempotent. */
  drain(reason: string): Promise<void>;
}

interface Shared {
  store: FleetStore;
  bus: ServerEventBus;
}

/** Wires one node: the shared store, the MCP handlers for every era, and the HTTP server. */
export async function startNode(
  config: Config,
  logger = createLogger({ level: config.logLevel, nodeId: config.nodeId }),
): Promise<RunningNode> {
  const metrics = createMetrics({ nodeId: config.nodeId });
  const { store, bus } = config.redisUrl
    ? await connectShared(config, config.redisUrl, logger, metrics)
    : embedded(config, logger);

  const createServerInstance = createServerFactory({
    nodeId: config.nodeId,
    store,
    metrics,
    logger,
    stateKey: config.stateKey,
  });
  const heartbeatMs = config.sseHeartbeatSeconds * 1000;
  const modern = createMcpHandler((ctx) => createServerInstance({ era: ctx.era, authInfo: ctx.authInfo }), {
    legacy: 'reject',
    bus,
    keepAliveMs: heartbeatMs,
    onerror: (err) => logger.debug({ err: err.message }, '2026-07-28 request rejected or failed'),
  });
  const sessions = new StreamableSessionManager({
    store: store.sessions,
    createServer: createServerInstance,
    metrics,
    logger,
    cacheMax: config.sessionCacheMax,
    idleMs: config.sessionTtlSeconds * 1000,
    heartbeatMs,
  });

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
      activeSessions: () => sessions.activeSessions,
    },
    tracking: tracking.middleware,
    mcp: createMcpEndpoint({ modern, sessions, store, logger }),
  });

  const server = createServer(app);
  // SSE streams are long-lived: no per-request timeout, but bounded header reading.
  server.requestTimeout = 0;
  server.headersTimeout = 30_000;
  const url = await listen(server, config.port, config.host);
  logger.info(
    {
      url,
      mode: store.mode === 'redis' ? 'cluster' : 'single-node',
      redis: config.redisUrl ? redactUrlCredentials(config.redisUrl) : undefined,
    },
    'listening',
  );

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
      server.close();
      server.closeIdleConnections();
      while (tracking.inFlight() > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        server.closeIdleConnections();
      }
      if (tracking.inFlight() > 0)
        logger.warn({ inFlight: tracking.inFlight() }, 'grace period over with calls in flight');
      await sessions.closeAll();
      await modern.close();
      server.closeAllConnections();
      await store.close();
      logger.info('drained');
    })();
    return drained;
  };

  return { nodeId: config.nodeId, url, logger, drain };
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
    store: createMemoryStore({ sessionTtlSeconds: config.sessionTtlSeconds }),
    bus: new InMemoryServerEventBus(),
  };
}

async function connectShared(
  config: Config,
  redisUrl: string,
  logger: Logger,
  metrics: ReturnType<typeof createMetrics>,
): Promise<Shared> {
  const redis = connectRedis(redisUrl, { logger, role: 'commands', nodeId: config.nodeId });
  // The subscriber queues its SUBSCRIBE until connected; it runs nothing else.
  const subscriber = connectRedis(redisUrl, {
    logger,
    role: 'events',
    nodeId: config.nodeId,
    offlineQueue: true,
  });
  const keys = createKeys(config.redisKeyPrefix);
  const bus = new RedisServerEventBus(redis, subscriber, keys.eventsChannel(), logger);
  bus
    .start()
    .catch((err: Error) => logger.error({ err: err.message }, 'could not subscribe to server events'));
  if (!(await waitUntilReady(redis, 5_000))) {
    logger.error('redis is unreachable at start; serving 503 until it is back');
  }
  const store = createRedisStore({
    redis,
    keys,
    sessionTtlSeconds: config.sessionTtlSeconds,
    metrics,
    onClose: () => quitAll([redis, subscriber]),
  });
  return { store, bus };
}

async function quitAll(connections: Redis[]): Promise<void> {
  await Promise.allSettled(
    connections.map(async (connection) => {
      if (connection.status === 'ready') await connection.quit();
      else connection.disconnect();
    }),
  );
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
