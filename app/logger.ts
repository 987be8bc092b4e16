import { type Logger, pino } from 'pino';
import { censorSecrets, LOG_SERIALIZERS } from './log-privacy.js';

export type { Logger };

export function createLogger(options: { level: string; nodeId: string }): Logger {
  const logger = pino({
    level: options.level,
    base: { nodeId: options.nodeId },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      level: (label) => ({ level: label }),
      // Secrets (credentials, keys, URLs with passwords) censored wherever they sit: app/log-privacy.ts.
      log: censorSecrets,
    },
    // Session ids hashed, error payloads (Redis command arguments) dropped: app/log-privacy.ts.
    serializers: LOG_SERIALIZERS,
  });
  // A child's bindings are written into every line it logs. pino applies `formatters.bindings` to
  // the root's only (pino 10, lib/proto.js `child` resets it), so children censor theirs here; a
  // child inherits this method, and `this` is whichever logger it is called on.
  const pinoChild = logger.child;
  logger.child = function child(this: Logger, bindings, childOptions) {
    return pinoChild.call(this, censorSecrets(bindings), childOptions);
  } as Logger['child'];
  return logger;
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
