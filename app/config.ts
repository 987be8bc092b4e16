import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';

/**
 * The node's whole configuration, read once from the environment at start.
 * Every variable is documented in the README's configuration table; keep the two in step.
 */
const integer = (name: string, min: number, max: number, fallback: number) =>
  z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw.trim() === '') return fallback;
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

const optionalString = z
  .string()
  .optional()
  .transform((raw) => (raw === undefined || raw.trim() === '' ? undefined : raw.trim()));

const redisUrl = optionalString.refine(
  (raw) => raw === undefined || /^rediss?:\/\/[^\s]+$/.test(raw),
  'expected a redis:// or rediss:// URL',
);

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: integer('PORT', 0, 65535, 3000),
  HOST: optionalString.transform((v) => v ?? '127.0.0.1'),
  REDIS_URL: redisUrl,
  REDIS_KEY_PREFIX: optionalString
    .transform((v) => v ?? 'mcp-fleet:')
    .refine((v) => /^[A-Za-z0-9:_.-]{1,64}$/.test(v), 'expected 1-64 characters from [A-Za-z0-9:_.-]'),
  NODE_ID: optionalString
    .transform((v) => v ?? `${hostname()}-${randomBytes(3).toString('hex')}`)
    .refine((v) => /^[A-Za-z0-9._-]{1,128}$/.test(v), 'expected 1-128 characters from [A-Za-z0-9._-]'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SESSION_TTL_SECONDS: integer('SESSION_TTL_SECONDS', 2, 7 * 24 * 3600, 1800),
  SESSION_CACHE_MAX: integer('SESSION_CACHE_MAX', 1, 1_000_000, 10_000),
  MCP_STATE_KEY: optionalString.refine(
    (v) => v === undefined || Buffer.byteLength(v, 'utf8') >= 32,
    'expected at least 32 bytes (generate one with: openssl rand -base64 48)',
  ),
  SSE_HEARTBEAT_SECONDS: integer('SSE_HEARTBEAT_SECONDS', 1, 3600, 15),
  SHUTDOWN_GRACE_SECONDS: integer('SHUTDOWN_GRACE_SECONDS', 1, 3600, 25),
});

export interface Config {
  nodeEnv: 'development' | 'production' | 'test';
  port: number;
  host: string;
  /** Unset means the embedded in-memory store: one node only. */
  redisUrl: string | undefined;
  redisKeyPrefix: string;
  nodeId: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  sessionTtlSeconds: number;
  sessionCacheMax: number;
  stateKey: string;
  /** True when MCP_STATE_KEY was not given and this node made one up (single-node mode only). */
  stateKeyGenerated: boolean;
  sseHeartbeatSeconds: number;
  shutdownGraceSeconds: number;
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
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const e = parsed.data;
  return {
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    redisUrl: e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    nodeId: e.NODE_ID,
    logLevel: e.LOG_LEVEL,
    sessionTtlSeconds: e.SESSION_TTL_SECONDS,
    sessionCacheMax: e.SESSION_CACHE_MAX,
    stateKey: e.MCP_STATE_KEY ?? randomBytes(48).toString('base64'),
    stateKeyGenerated: e.MCP_STATE_KEY === undefined,
    sseHeartbeatSeconds: e.SSE_HEARTBEAT_SECONDS,
    shutdownGraceSeconds: e.SHUTDOWN_GRACE_SECONDS,
  };
}
