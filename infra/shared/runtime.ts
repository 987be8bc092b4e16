import * as pulumi from '@pulumi/pulumi';
import { isPublic, type PublicServer, type ServerConfig } from '../config.js';
import { gatewayPath } from './upstreams.js';

/**
 * The container contract both platforms honour: which plain variables a server gets and how long
 * each layer waits while it drains. Kept in one place so ECS and EKS cannot drift apart.
 */

/** Heartbeats must beat the shortest idle timeout in front of the app (NLB: 350 s, ALB: 3600 s). */
export const SSE_HEARTBEAT_SECONDS = 15;

export interface PlainEnvContext {
  /** The Pulumi stack: part of the Redis key prefix, so stacks can share a Redis safely. */
  stack: string;
  /** How clients reach the server: `https` when the load balancer holds a certificate. */
  scheme: 'http' | 'https';
  /**
   * The idle timeout of the proxy that keeps connections to the app open (ALB, ingress nginx). The
   * app must hold idle connections longer than that proxy, or it closes one the proxy is reusing
   * and the client gets a 502.
   */
  proxyIdleTimeoutSeconds: number;
  /**
   * The address clients use when the server has no `ingress.host`: the load balancer's own DNS name.
   * The app then still checks the Host header (DNS rebinding) and names its public URL.
   */
  fallbackHost?: pulumi.Input<string>;
  /** The app's METRICS_PORT: /metrics only there, never on the port the load balancer forwards to. */
  metricsPort?: number;
  /** The shared Redis runs in cluster mode: its REDIS_URL is the configuration endpoint. */
  redisCluster?: boolean;
  /** The app's UPSTREAMS (infra/shared/upstreams.ts), when the stack has servers behind its gateway. */
  upstreams?: string;
}

/** ingress-nginx keeps upstream connections idle for 60 s by default (`upstream-keepalive-timeout`). */
export const INGRESS_UPSTREAM_IDLE_SECONDS = 60;

/** Plain (non-secret) environment for one server. Secrets never pass through here. */
export function plainEnv(
  name: string,
  server: ServerConfig,
  context: PlainEnvContext,
): Record<string, pulumi.Input<string>> {
  const app = server.build === 'app';
  const env: Record<string, pulumi.Input<string>> = {
    ...(app
      ? {
          LOG_LEVEL: 'info',
          SSE_HEARTBEAT_SECONDS: String(SSE_HEARTBEAT_SECONDS),
          HTTP_KEEP_ALIVE_SECONDS: String(context.proxyIdleTimeoutSeconds + 5),
          ...(context.metricsPort === undefined ? {} : { METRICS_PORT: String(context.metricsPort) }),
          ...(context.upstreams === undefined ? {} : { UPSTREAMS: context.upstreams }),
        }
      : {}),
    ...(isPublic(server)
      ? securityEnv(server, context.scheme, server.ingress.host ?? context.fallbackHost)
      : {}),
    ...server.env,
    PORT: String(server.port),
    HOST: '0.0.0.0',
    NODE_ENV: 'production',
    SHUTDOWN_GRACE_SECONDS: String(server.drainSeconds),
  };
  if (server.redis) env.REDIS_KEY_PREFIX = `mcp-fleet:${context.stack}:${name}:`;
  if (server.redis && context.redisCluster) env.REDIS_CLUSTER = 'true';
  return env;
}

/**
 * The app's authentication and HTTP-security settings that are not secret. AUTH_API_KEYS is secret
 * and travels through Secrets Manager (see Foundation.secretsFor), never through here.
 * ALLOWED_HOSTS, PUBLIC_URL and TRUST_PROXY are defaults that `env` may override (an extra CNAME,
 * a CDN in front adding a hop).
 */
export function securityEnv(
  server: PublicServer,
  scheme: 'http' | 'https',
  host: pulumi.Input<string> | undefined,
): Record<string, pulumi.Input<string>> {
  const { auth } = server;
  if (!auth) return {};
  const env: Record<string, pulumi.Input<string>> = {
    AUTH_MODE: auth.mode,
    // Exactly one proxy sits in front of the app: the ALB (ECS) or nginx (EKS). Trusting one hop makes
    // req.ip the client address that proxy saw, so per-IP rate limits count clients, not the proxy.
    TRUST_PROXY: '1',
  };
  if (auth.mode === 'oauth') {
    env.OAUTH_ISSUER = auth.issuer ?? '';
    env.OAUTH_AUDIENCE = auth.audience ?? '';
    if (auth.jwksUrl) env.OAUTH_JWKS_URL = auth.jwksUrl;
    if (auth.adminScope) env.OAUTH_ADMIN_SCOPE = auth.adminScope;
  }
  if (host !== undefined) {
    // DNS-rebinding protection: the app answers 403 to any other Host. Health checks reach
    // /health and /ready, which sit before that check, by IP.
    env.ALLOWED_HOSTS = host;
    // The RFC 9728 resource URL and the 401 challenge must name the public address, not the pod's.
    env.PUBLIC_URL = pulumi.output(host).apply((resolved) => publicBaseUrl(scheme, resolved, server));
  }
  return env;
}

export interface DrainTimings {
  /**
   * ALB deregistration delay. ECS deregisters a stopping task, waits this long, and only then sends
   * SIGTERM ("Amazon ECS task lifecycle"; ECS best practices, "Load balancer connection draining"),
   * and the ALB closes whatever is still open when it ends. So requests get this long to finish,
   * but long-lived streams are cut here, before the app's own drain (which then finds them gone):
   * 2025-era clients resume with Last-Event-ID on another task, 2024-era ones reconnect.
   */
  deregistrationDelaySeconds: number;
  /** ECS: SIGKILL follows SIGTERM after this; Fargate caps it at 120 s. */
  stopTimeoutSeconds: number;
  /** Kubernetes: the pod sleeps this long before SIGTERM so endpoints and nginx stop routing to it. */
  preStopSleepSeconds: number;
  /** Kubernetes: must exceed preStop + drain, or the kubelet kills the pod mid-drain. */
  terminationGracePeriodSeconds: number;
}

export function drainTimings(server: ServerConfig): DrainTimings {
  const preStopSleepSeconds = 5;
  return {
    deregistrationDelaySeconds: server.drainSeconds,
    stopTimeoutSeconds: Math.min(120, server.drainSeconds + 5),
    preStopSleepSeconds,
    terminationGracePeriodSeconds: preStopSleepSeconds + server.drainSeconds + 10,
  };
}

/** Where the server is mounted publicly: scheme, host and ingress path, without a trailing slash. */
export function publicBaseUrl(scheme: 'http' | 'https', host: string, server: PublicServer): string {
  const prefix = server.ingress.path === '/' ? '' : server.ingress.path.replace(/\/$/, '');
  return `${scheme}://${host}${prefix}`;
}

/** The public MCP endpoint of a server. */
export function mcpUrl(scheme: 'http' | 'https', host: string, server: PublicServer): string {
  return `${publicBaseUrl(scheme, host, server)}${server.mcpPath}`;
}

/**
 * The public MCP URL of every server: its own route, or, for a server behind the gateway, the app's
 * `/servers/<name>/<endpoint>` (the stack config check guarantees exactly one app then).
 * `fallbackHost` is the load balancer's name, for servers without `ingress.host`.
 */
export function serverUrls(
  servers: Record<string, ServerConfig>,
  scheme: 'http' | 'https',
  fallbackHost: pulumi.Output<string>,
): pulumi.Output<Record<string, string>> {
  const hostOf = (server: PublicServer) =>
    server.ingress.host ? pulumi.output(server.ingress.host) : fallbackHost;
  const app = Object.values(servers).find(
    (server): server is PublicServer => server.build === 'app' && isPublic(server),
  );
  const urls: Record<string, pulumi.Output<string>> = {};
  for (const [name, server] of Object.entries(servers)) {
    if (isPublic(server)) {
      urls[name] = hostOf(server).apply((host) => mcpUrl(scheme, host, server));
    } else {
      if (!app) throw new Error(`server ${name} is behind the gateway, but the stack has no app`);
      urls[name] = hostOf(app).apply(
        (host) => `${publicBaseUrl(scheme, host, app)}${gatewayPath(name, server)}`,
      );
    }
  }
  return pulumi.all(urls);
}
