import { type Logger, pino } from 'pino';
import { censorSecrets, LOG_SERIALIZERS } from './log-privacy.js';

export type { Logger };

export function createLogger(options: { level: string; nodeId: string }): Logger {
  return pino({
    level: options.level,
    base: { nodeId: options.nodeId },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      level: (label) => ({ level: label }),
      // Secrets (credentials, keys, URLs with passwords) censored wherever they sit: app/log-privacy.ts.
      log: censorSecrets,
      bindings: censorSecrets,
    },
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
