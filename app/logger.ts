import { type Logger, pino } from 'pino';

export type { Logger };

/**
 * Every path that can carry a secret. Request headers and config objects are logged in places,
 * so the redaction list covers them wherever they sit in a log line.
 */
const REDACTED_PATHS = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'headers.cookie',
  '*.headers.cookie',
  'token',
  '*.token',
  'accessToken',
  '*.accessToken',
  'stateKey',
  '*.stateKey',
  'redisUrl',
  '*.redisUrl',
  'REDIS_URL',
  'MCP_STATE_KEY',
  'MCP_STATE_KEY_PREVIOUS',
  'previousStateKey',
  '*.previousStateKey',
  'AUTH_API_KEYS',
  '*.AUTH_API_KEYS',
  'apiKeys',
  '*.apiKeys',
  'auth.apiKeys',
  '*.auth.apiKeys',
  'authInfo.token',
  '*.authInfo.token',
  'headers["x-api-key"]',
  '*.headers["x-api-key"]',
  'headers["set-cookie"]',
  '*.headers["set-cookie"]',
  'password',
  '*.password',
  'secret',
  '*.secret',
];

export function createLogger(options: { level: string; nodeId: string }): Logger {
  return pino({
    level: options.level,
    base: { nodeId: options.nodeId },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: { err: serializeError },
  });
}

/**
 * pino's standard error serializer, minus ioredis's `command` (`{ name, args }`, on every reply
 * error): its arguments are session ids, principals and the values clients store.
 */
export function serializeError(err: unknown): unknown {
  return withoutCommand(pino.stdSerializers.err(err as Error));
}

function withoutCommand(serialized: unknown, depth = 0): unknown {
  if (typeof serialized !== 'object' || serialized === null || depth > 4) return serialized;
  const fields = serialized as Record<string, unknown>;
  delete fields.command;
  // Nested errors (an AggregateError's, or an error held in a property) are serialized in place.
  for (const value of Object.values(fields)) {
    if (Array.isArray(value)) for (const item of value) withoutCommand(item, depth + 1);
    else if (typeof value === 'object' && value !== null && 'stack' in value)
      withoutCommand(value, depth + 1);
  }
  return serialized;
}

/** `rediss://:secret@host:6379/0` → `rediss://***@host:6379/0`, safe to log or show in /health. */
export function redactUrlCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username || parsed.password) {
      parsed.username = '';
      parsed.password = '';
      return parsed.toString().replace('//', '//***@');
    }
    return parsed.toString();
  } catch {
    return '[unparseable url]';
  }
}
