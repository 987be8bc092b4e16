import { type Logger, pino } from 'pino';
import { LOG_SERIALIZERS } from './log-privacy.js';

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
  'AUTH_ADMIN_API_KEYS',
  '*.AUTH_ADMIN_API_KEYS',
  'apiKeys',
  '*.apiKeys',
  'auth.apiKeys',
  '*.auth.apiKeys',
  'adminApiKeys',
  '*.adminApiKeys',
  'auth.adminApiKeys',
  '*.auth.adminApiKeys',
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
    // Session ids hashed, error payloads (Redis command arguments) dropped: app/log-privacy.ts.
    serializers: LOG_SERIALIZERS,
  });
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
