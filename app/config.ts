import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';
import { DNS_SERVER, parseUpstreams, type UpstreamConfig } from './gateway/upstreams-config.js';

/**
 * The node's whole configuration, read once from the environment at start.
 * Every variable is documented in the README's configuration table; keep the two in step.
 */

/** An integer variable with no default: unset or blank gives undefined. */
const optionalInteger = (name: string, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw.trim() === '') return undefined;
      const value = Number(raw);
      if (!Number.isInteger(value) || value < min || value > max) {
        ctx.addIssue({
          code: 'custom',
          message: `expected an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`,
        });
        return z.NEVER;
      }
      return value;
    })
    .describe(name);

/** An integer variable: unset or blank gives `fallback`. */
const integer = (name: string, min: number, max: number, fallback: number) =>
  optionalInteger(name, min, max)
    .transform((value) => value ?? fallback)
    .describe(name);

const optionalString = z
  .string()
  .optional()
  .transform((raw) => (raw === undefined || raw.trim() === '' ? undefined : raw.trim()));

/** A comma-separated list; blanks are dropped. Unset or empty gives undefined. */
const commaList = optionalString.transform((raw) =>
  raw === undefined
    ? undefined
    : raw
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== ''),
);

const httpUrl = (what: string) =>
  optionalString.refine((raw) => raw === undefined || /^https?:\/\/[^\s]+$/.test(raw), `expected ${what}`);

/** `sha256:` and 64 hex digits (a key's digest), or the key itself: 16+ visible characters, no commas. */
const API_KEY_ENTRY = /^(sha256:[0-9a-fA-F]{64}|[\x21-\x2b\x2d-\x7e]{16,})$/;

/** An on/off switch: `1` or `true`, `0` or `false`; unset is off. */
const flag = (onMeans: string) =>
  optionalString
    .refine(
      (raw) => raw === undefined || ['0', '1', 'true', 'false'].includes(raw),
      `expected 1 or true ${onMeans}, 0 or false (the default) not to`,
    )
    .transform((raw) => raw === '1' || raw === 'true');

const redisUrl = optionalString.refine(
  (raw) => raw === undefined || /^rediss?:\/\/[^\s]+$/.test(raw),
  'expected a redis:// or rediss:// URL',
);

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: integer('PORT', 0, 65535, 3000),
  // A second listener for /metrics only, so the traffic port (behind a public load balancer) never serves it.
  METRICS_PORT: optionalInteger('METRICS_PORT', 0, 65535),
  HOST: optionalString.transform((v) => v ?? '127.0.0.1'),
  REDIS_URL: redisUrl,
  // REDIS_URL is then one seed node of a Redis Cluster (ElastiCache's configuration endpoint).
  REDIS_CLUSTER: flag('to treat REDIS_URL as a seed node of a Redis Cluster'),
  REDIS_KEY_PREFIX: optionalString
    .transform((v) => v ?? 'mcp-fleet:')
    .refine((v) => /^[A-Za-z0-9:_.-]{1,64}$/.test(v), 'expected 1-64 characters from [A-Za-z0-9:_.-]'),
  NODE_ID: optionalString
    .transform((v) => v ?? `${hostname()}-${randomBytes(3).toString('hex')}`)
    .refine((v) => /^[A-Za-z0-9._-]{1,128}$/.test(v), 'expected 1-128 characters from [A-Za-z0-9._-]'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SESSION_TTL_SECONDS: integer('SESSION_TTL_SECONDS', 2, 7 * 24 * 3600, 1800),
  SESSION_CACHE_MAX: integer('SESSION_CACHE_MAX', 1, 1_000_000, 10_000),
  SESSION_WARM_SECONDS: integer('SESSION_WARM_SECONDS', 1, 3600, 30),
  MCP_STATE_KEY: optionalString.refine(
    (v) => v === undefined || Buffer.byteLength(v, 'utf8') >= 32,
    'expected at least 32 bytes (generate one with: openssl rand -base64 48)',
  ),
  MCP_STATE_KEY_PREVIOUS: optionalString.refine(
    (v) => v === undefined || Buffer.byteLength(v, 'utf8') >= 32,
    'expected at least 32 bytes (generate one with: openssl rand -base64 48)',
  ),
  SSE_HEARTBEAT_SECONDS: integer('SSE_HEARTBEAT_SECONDS', 1, 3600, 15),
  SHUTDOWN_GRACE_SECONDS: integer('SHUTDOWN_GRACE_SECONDS', 1, 3600, 25),
  HTTP_KEEP_ALIVE_SECONDS: integer('HTTP_KEEP_ALIVE_SECONDS', 1, 7200, 5),
  // Resumable event streams (Last-Event-ID on any node).
  EVENT_STREAM_MAX_EVENTS: integer('EVENT_STREAM_MAX_EVENTS', 1, 100_000, 1000),
  EVENT_STREAM_TTL_SECONDS: integer('EVENT_STREAM_TTL_SECONDS', 10, 7 * 24 * 3600, 120),
  SSE_RETRY_MILLISECONDS: integer('SSE_RETRY_MILLISECONDS', 100, 600_000, 1000),
  // The shared event log (GET streams' notifications, resumable on any node): entries kept.
  EVENT_LOG_MAX_ENTRIES: integer('EVENT_LOG_MAX_ENTRIES', 1000, 10_000_000, 100_000),
  // Security (see SECURITY.md). Values are never echoed in errors: some of them are secrets.
  AUTH_MODE: z.enum(['none', 'apikey', 'oauth']).optional(),
  AUTH_API_KEYS: commaList.refine(
    (keys) => keys === undefined || keys.every((key) => API_KEY_ENTRY.test(key)),
    'expected comma-separated keys of at least 16 visible characters, or sha256:<64 hex digits> digests (value not shown)',
  ),
  AUTH_ADMIN_API_KEYS: commaList.refine(
    (keys) => keys === undefined || keys.every((key) => API_KEY_ENTRY.test(key)),
    'expected comma-separated keys of at least 16 visible characters, or sha256:<64 hex digits> digests (value not shown)',
  ),
  OAUTH_ISSUER: httpUrl('the authorization server issuer, an https:// URL'),
  OAUTH_AUDIENCE: optionalString,
  OAUTH_JWKS_URL: httpUrl('an https:// URL of the issuer JWKS'),
  OAUTH_JWKS_REFRESH_SECONDS: integer('OAUTH_JWKS_REFRESH_SECONDS', 1, 3600, 30),
  OAUTH_REQUIRED_SCOPES: commaList,
  OAUTH_ADMIN_SCOPE: optionalString
    .transform((v) => v ?? 'mcp:admin')
    .refine(
      (v) => /^[\x21\x23-\x5b\x5d-\x7e]+$/.test(v),
      'expected one OAuth scope (visible characters, no spaces)',
    ),
  OAUTH_TOOL_SCOPES: commaList.refine(
    (pairs) =>
      pairs === undefined || pairs.every((pair) => /^[A-Za-z0-9_.-]+=[\x21\x23-\x5b\x5d-\x7e ]+$/.test(pair)),
    'expected tool=scope pairs separated by commas, several scopes separated by spaces (remember=memory:write)',
  ),
  PUBLIC_URL: httpUrl('the public base URL of this service, e.g. https://mcp.example.com'),
  ALLOWED_HOSTS: commaList,
  ALLOWED_ORIGINS: commaList,
  TRUST_PROXY: optionalString.refine(
    (raw) =>
      raw === undefined ||
      raw === 'false' ||
      /^\d{1,2}$/.test(raw) ||
      /^[0-9a-fA-F.:/,\s]+$|^(loopback|linklocal|uniquelocal)(,.*)?$/.test(raw),
    'expected false, a hop count (1 for one load balancer), or a comma-separated list of proxy addresses/CIDRs; "true" is refused because it lets any client pick its own IP',
  ),
  RATE_LIMIT_WINDOW_SECONDS: integer('RATE_LIMIT_WINDOW_SECONDS', 1, 3600, 60),
  RATE_LIMIT_PER_PRINCIPAL: integer('RATE_LIMIT_PER_PRINCIPAL', 0, 1_000_000, 600),
  RATE_LIMIT_PER_IP: integer('RATE_LIMIT_PER_IP', 0, 1_000_000, 1200),
  REQUEST_BODY_TIMEOUT_SECONDS: integer('REQUEST_BODY_TIMEOUT_SECONDS', 1, 600, 10),
  MAX_BATCH_SIZE: integer('MAX_BATCH_SIZE', 1, 1000, 32),
  // The gateway to third-party MCP servers (app/gateway, docs/gateway.md). UPSTREAMS is parsed in loadConfig.
  UPSTREAMS: optionalString,
  UPSTREAM_DNS_SERVERS: commaList.refine(
    (servers) => servers === undefined || servers.every((server) => DNS_SERVER.test(server)),
    'expected comma-separated DNS server addresses, each an IP with an optional port (10.0.0.2, 127.0.0.1:5353)',
  ),
  // Limits per tenant (see SECURITY.md); 0 turns a quota off.
  QUOTA_MEMORY_KEYS: integer('QUOTA_MEMORY_KEYS', 0, 1_000_000, 1000),
  QUOTA_MEMORY_BYTES: integer('QUOTA_MEMORY_BYTES', 0, 1024 ** 3, 1024 ** 2),
  QUOTA_SESSIONS_PER_PRINCIPAL: integer('QUOTA_SESSIONS_PER_PRINCIPAL', 0, 1_000_000, 200),
  QUOTA_STREAMS_PER_PRINCIPAL: integer('QUOTA_STREAMS_PER_PRINCIPAL', 0, 1_000_000, 100),
  LISTEN_MAX_SUBSCRIPTIONS: integer('LISTEN_MAX_SUBSCRIPTIONS', 1, 1_000_000, 1024),
  // Test fixtures of the official conformance suite; never on in production.
  MCP_CONFORMANCE_FIXTURES: flag('to register the conformance fixtures'),
});

/** Every environment variable the node reads: the README table and the deploy files must agree with it. */
export const ENV_VARIABLES: readonly string[] = Object.keys(EnvSchema.shape);

export interface Config {
  nodeEnv: 'development' | 'production' | 'test';
  port: number;
  /** METRICS_PORT: when set, /metrics is served only there (0 picks a free port), and the traffic port answers it 404. */
  metricsPort: number | undefined;
  host: string;
  /** Unset means the embedded in-memory store: one node only. */
  redisUrl: string | undefined;
  /** REDIS_CLUSTER: REDIS_URL is a seed node of a Redis Cluster, not a standalone primary. */
  redisCluster: boolean;
  redisKeyPrefix: string;
  nodeId: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  sessionTtlSeconds: number;
  sessionCacheMax: number;
  /** How long an idle 2025-era session keeps its server instance on a node before it is closed. */
  sessionWarmSeconds: number;
  stateKey: string;
  /** MCP_STATE_KEY_PREVIOUS: the key being rotated out, still accepted when verifying. */
  previousStateKey: string | undefined;
  /** True when MCP_STATE_KEY was not given and this node made one up (single-node mode only). */
  stateKeyGenerated: boolean;
  sseHeartbeatSeconds: number;
  shutdownGraceSeconds: number;
  /** How long an idle keep-alive connection stays open: above the idle timeout of the proxy in front. */
  httpKeepAliveSeconds: number;
  /** Resumable streams: events kept per stream, how long an idle stream is kept, and the SSE `retry` hint. */
  eventStream: { maxEvents: number; ttlSeconds: number; retryMs: number };
  /** The shared event log: how many entries it keeps (EVENT_LOG_MAX_ENTRIES). */
  eventLog: { maxEntries: number };
  auth: AuthConfig;
  http: HttpSecurityConfig;
  rateLimit: RateLimitConfig;
  quotas: QuotaConfig;
  /** MCP_CONFORMANCE_FIXTURES: the tools, resources and prompts the official conformance suite calls. */
  conformanceFixtures: boolean;
  gateway: GatewayConfig;
}

/** UPSTREAMS and how `dns` upstreams are resolved (app/gateway). */
export interface GatewayConfig {
  upstreams: UpstreamConfig[];
  /** UPSTREAM_DNS_SERVERS; unset means the system resolver (/etc/resolv.conf). */
  dnsServers: string[] | undefined;
}

/** Who may call: nobody is checked (`none`), shared API keys, or OAuth 2.1 access tokens (JWT). */
export interface AuthConfig {
  mode: 'none' | 'apikey' | 'oauth';
  /** AUTH_API_KEYS entries: plaintext keys or `sha256:<hex>` digests. Secret. */
  apiKeys: string[];
  /** AUTH_ADMIN_API_KEYS: keys (same forms) that also act as administrators. Secret. */
  adminApiKeys: string[];
  /** OAUTH_ADMIN_SCOPE: the scope that makes a caller an administrator (admin keys carry it too). */
  adminScope: string;
  oauth?: {
    issuer: string;
    audience: string;
    /** Unset: discovered from the issuer's metadata (RFC 8414, then OpenID Connect). */
    jwksUrl: string | undefined;
    jwksRefreshSeconds: number;
  };
  /** Scopes every request needs (403 insufficient_scope without them). */
  requiredScopes: string[];
  /** Extra scopes per tool name, checked when the tool is called. */
  toolScopes: Record<string, string[]>;
}

export interface HttpSecurityConfig {
  /** The public base URL, for the RFC 9728 document; unset means derived from each request. */
  publicUrl: string | undefined;
  allowedHosts: string[] | undefined;
  allowedOrigins: string[] | undefined;
  /** Express `trust proxy`: false, a hop count, or proxy addresses. */
  trustProxy: boolean | number | string;
  bodyTimeoutMs: number;
  maxBatchSize: number;
}

export interface RateLimitConfig {
  windowSeconds: number;
  /** Requests per window per principal and per client IP; 0 turns that limit off. */
  perPrincipal: number;
  perIp: number;
}

/** What one principal may hold; 0 turns a limit off. */
export interface QuotaConfig {
  /** `remember`: keys and bytes (keys plus values) per principal (2026) or per session (2025, 2024). */
  memoryKeys: number;
  memoryBytes: number;
  /** 2025 and 2024 sessions alive, and long-lived streams open, per principal across the fleet. */
  sessionsPerPrincipal: number;
  streamsPerPrincipal: number;
  /** 2026 `subscriptions/listen` streams per node (the SDK's `maxSubscriptions`). */
  listenStreamsPerNode: number;
}

/** A configuration error names every bad variable and what was expected. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`);
  // Cross-variable rule, checked on the raw values so that it is reported together with the rest.
  if (env.REDIS_URL?.trim() && !env.MCP_STATE_KEY?.trim()) {
    problems.push(
      'MCP_STATE_KEY: required when REDIS_URL is set: every node must share one key (generate one with: openssl rand -base64 48)',
    );
  }
  if (parsed.success && parsed.data.REDIS_CLUSTER && !parsed.data.REDIS_URL) {
    problems.push(
      'REDIS_CLUSTER: needs REDIS_URL (a seed node of the cluster, e.g. the configuration endpoint)',
    );
  }
  problems.push(...authProblems(env));
  const ports = parsed.success ? parsed.data : undefined;
  if (ports?.METRICS_PORT && ports.METRICS_PORT === ports.PORT) {
    problems.push(`METRICS_PORT: expected a port other than PORT (${ports.PORT})`);
  }
  const gateway = parseUpstreams(env.UPSTREAMS, env);
  problems.push(...gateway.problems);
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const e = parsed.data;
  return {
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    metricsPort: e.METRICS_PORT,
    host: e.HOST,
    redisUrl: e.REDIS_URL,
    redisCluster: e.REDIS_CLUSTER,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    nodeId: e.NODE_ID,
    logLevel: e.LOG_LEVEL,
    sessionTtlSeconds: e.SESSION_TTL_SECONDS,
    sessionCacheMax: e.SESSION_CACHE_MAX,
    sessionWarmSeconds: e.SESSION_WARM_SECONDS,
    stateKey: e.MCP_STATE_KEY ?? randomBytes(48).toString('base64'),
    stateKeyGenerated: e.MCP_STATE_KEY === undefined,
    previousStateKey: e.MCP_STATE_KEY_PREVIOUS,
    sseHeartbeatSeconds: e.SSE_HEARTBEAT_SECONDS,
    shutdownGraceSeconds: e.SHUTDOWN_GRACE_SECONDS,
    httpKeepAliveSeconds: e.HTTP_KEEP_ALIVE_SECONDS,
    eventStream: {
      maxEvents: e.EVENT_STREAM_MAX_EVENTS,
      ttlSeconds: e.EVENT_STREAM_TTL_SECONDS,
      retryMs: e.SSE_RETRY_MILLISECONDS,
    },
    eventLog: { maxEntries: e.EVENT_LOG_MAX_ENTRIES },
    auth: {
      mode: e.AUTH_MODE ?? 'none',
      apiKeys: e.AUTH_API_KEYS ?? [],
      adminApiKeys: e.AUTH_ADMIN_API_KEYS ?? [],
      adminScope: e.OAUTH_ADMIN_SCOPE,
      oauth:
        e.AUTH_MODE === 'oauth' && e.OAUTH_ISSUER && e.OAUTH_AUDIENCE
          ? {
              issuer: e.OAUTH_ISSUER,
              audience: e.OAUTH_AUDIENCE,
              jwksUrl: e.OAUTH_JWKS_URL,
              jwksRefreshSeconds: e.OAUTH_JWKS_REFRESH_SECONDS,
            }
          : undefined,
      requiredScopes: e.OAUTH_REQUIRED_SCOPES ?? [],
      toolScopes: Object.fromEntries(
        (e.OAUTH_TOOL_SCOPES ?? []).map((pair) => {
          const [tool, scopes] = pair.split('=') as [string, string];
          return [tool, scopes.split(' ').filter((scope) => scope !== '')];
        }),
      ),
    },
    http: {
      publicUrl: e.PUBLIC_URL?.replace(/\/+$/, ''),
      allowedHosts: e.ALLOWED_HOSTS,
      allowedOrigins: e.ALLOWED_ORIGINS,
      trustProxy: parseTrustProxy(e.TRUST_PROXY),
      bodyTimeoutMs: e.REQUEST_BODY_TIMEOUT_SECONDS * 1000,
      maxBatchSize: e.MAX_BATCH_SIZE,
    },
    rateLimit: {
      windowSeconds: e.RATE_LIMIT_WINDOW_SECONDS,
      perPrincipal: e.RATE_LIMIT_PER_PRINCIPAL,
      perIp: e.RATE_LIMIT_PER_IP,
    },
    quotas: {
      memoryKeys: e.QUOTA_MEMORY_KEYS,
      memoryBytes: e.QUOTA_MEMORY_BYTES,
      sessionsPerPrincipal: e.QUOTA_SESSIONS_PER_PRINCIPAL,
      streamsPerPrincipal: e.QUOTA_STREAMS_PER_PRINCIPAL,
      listenStreamsPerNode: e.LISTEN_MAX_SUBSCRIPTIONS,
    },
    conformanceFixtures: e.MCP_CONFORMANCE_FIXTURES,
    gateway: { upstreams: gateway.upstreams, dnsServers: e.UPSTREAM_DNS_SERVERS },
  };
}

/** Rules across the authentication variables, checked on the raw values. */
function authProblems(env: NodeJS.ProcessEnv): string[] {
  const mode = env.AUTH_MODE?.trim();
  const problems: string[] = [];
  if (!mode && env.NODE_ENV?.trim() === 'production') {
    problems.push(
      'AUTH_MODE: required when NODE_ENV=production: set apikey or oauth (or none, explicitly, to serve without authentication)',
    );
  }
  if (mode === 'apikey' && !env.AUTH_API_KEYS?.trim() && !env.AUTH_ADMIN_API_KEYS?.trim()) {
    problems.push(
      'AUTH_API_KEYS: required when AUTH_MODE=apikey (comma-separated keys or sha256:<hex> digests)',
    );
  }
  if (mode === 'oauth') {
    if (!env.OAUTH_ISSUER?.trim()) problems.push('OAUTH_ISSUER: required when AUTH_MODE=oauth');
    if (!env.OAUTH_AUDIENCE?.trim()) {
      problems.push(
        'OAUTH_AUDIENCE: required when AUTH_MODE=oauth (the audience your tokens are issued for)',
      );
    }
  }
  return problems;
}

function parseTrustProxy(raw: string | undefined): boolean | number | string {
  if (raw === undefined || raw === 'false') return false;
  return /^\d+$/.test(raw) ? Number(raw) : raw;
}
