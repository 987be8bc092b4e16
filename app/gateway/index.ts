import express, { type RequestHandler, Router } from 'express';
import type { Registry } from 'prom-client';
import { Agent } from 'undici';
import type { GatewayConfig } from '../config.js';
import { MAX_BODY } from '../http/app.js';
import type { Logger } from '../logger.js';
import { InstancePool } from './instances.js';
import { createGatewayMetrics } from './metrics.js';
import { createPinSealer } from './pin-token.js';
import { type OpenStream, proxyHandler } from './proxy.js';

/** A connect to an instance takes at most this long: a dead instance never hangs a request. */
export const CONNECT_TIMEOUT_MS = 2_000;
/** An instance that accepted a request but sends no response headers in this time gets the client a 504. */
const HEADERS_TIMEOUT_MS = 300_000;

export interface Gateway {
  /** Mounted at `/servers`, after the security gate (auth, rate limits, Host/Origin) and before JSON parsing. */
  router: RequestHandler;
  /** Resolves `dns` upstreams once (bounded) and starts re-resolving them. */
  start(): Promise<void>;
  /** Ends the event streams held for clients (they reconnect elsewhere) and the upstream connections. */
  close(): Promise<void>;
}

/**
 * The gateway to third-party MCP servers (docs/gateway.md). Upstreams come from UPSTREAMS;
 * requests are proxied with undici (Node's own HTTP client, as a pinned dependency for its
 * `Agent` options: connect timeout, keep-alive pool, no body decoding).
 */
export function createGateway(deps: {
  config: GatewayConfig;
  stateKey: string;
  previousStateKey: string | undefined;
  registry: Registry;
  logger: Logger;
}): Gateway {
  const metrics = createGatewayMetrics(deps.registry);
  const logger = deps.logger.child({ component: 'gateway' });
  const pools = new Map(
    deps.config.upstreams.map((upstream) => [
      upstream.name,
      new InstancePool(upstream, { logger, metrics, dnsServers: deps.config.dnsServers }),
    ]),
  );
  const agent = new Agent({
    connect: { timeout: CONNECT_TIMEOUT_MS, keepAlive: true, keepAliveInitialDelay: 30_000 },
    headersTimeout: HEADERS_TIMEOUT_MS,
    // Event streams may be idle for a long time; a dead peer is found by TCP keep-alive instead.
    bodyTimeout: 0,
  });
  const streams = new Set<OpenStream>();
  const router = Router();
  // The body is forwarded as it came, byte for byte, so it is read raw with the app's size limit
  // (413 beyond it, from the app's error handler) and never parsed here: the upstream validates it.
  router.use(express.raw({ type: () => true, limit: MAX_BODY }));
  router.use(
    proxyHandler({
      pools,
      sealer: createPinSealer(deps.stateKey, deps.previousStateKey),
      agent,
      metrics,
      logger,
      streams,
    }),
  );

  return {
    router,
    start: async () => {
      await Promise.all([...pools.values()].map((pool) => pool.start()));
      if (pools.size > 0) {
        logger.info(
          {
            upstreams: [...pools.values()].map((pool) => ({
              name: pool.upstream.name,
              instances: pool.size,
            })),
          },
          'gateway ready',
        );
      }
    },
    close: async () => {
      for (const pool of pools.values()) pool.stop();
      for (const stream of streams) stream.close();
      await agent.destroy();
    },
  };
}
