import { createHash } from 'node:crypto';
import { stdSerializers } from 'pino';

/**
 * What must never reach a log line in clear, and how it is kept out (app/logger.ts installs these
 * serializers; redaction of secrets by path is there too).
 */

/**
 * A session id in logs: the first 16 hex digits of its SHA-256. A session id is a bearer
 * credential (with AUTH_MODE=none it is all a caller needs), so logs, and whoever reads them,
 * must not hold it. The same id gives the same hash on every node, so lines still correlate, and
 * an operator holding an id finds its lines with `printf %s "$ID" | sha256sum | cut -c1-16`.
 * Ids carry 192 random bits, so the hash cannot be turned back into the id. A plain hash, not a
 * keyed one: with ids that random a key would add nothing, and would have to be shared by every
 * node and by whoever searches the logs.
 */
export function sessionIdForLogs(sessionId: unknown): string | undefined {
  if (sessionId === undefined || sessionId === null) return undefined;
  if (typeof sessionId !== 'string') return '[not a session id]';
  return createHash('sha256').update(sessionId, 'utf8').digest('hex').slice(0, 16);
}

/** Properties of errors that carry what a client sent or stored, rather than what went wrong. */
const ERROR_PAYLOAD_KEYS = new Set([
  // ioredis puts the failed command on its errors: `{ name, args }`, the args being key names
  // (session ids, principals), stored values and whole `initialize` params.
  'command',
  // body-parser errors carry the request body they could not parse.
  'body',
]);

/**
 * pino's error serializer (type, message with causes, stack), without the properties that carry
 * payloads, at any depth: errors nested in properties (ioredis `previousErrors`) too. It builds
 * copies; the error itself is left as it was. A value that is not an error passes unchanged.
 */
export function errorForLogs(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  return withoutPayload(err, 0);
}

function withoutPayload(value: unknown, depth: number): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (depth > 4) return '[nested too deep]';
  if (Array.isArray(value)) return value.map((item) => withoutPayload(item, depth + 1));
  const source = value instanceof Error ? (stdSerializers.err(value) as object) : value;
  const copy: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(source)) {
    if (!ERROR_PAYLOAD_KEYS.has(key)) copy[key] = withoutPayload(field, depth + 1);
  }
  return copy;
}

/** pino `serializers`: they apply to these keys in every line and in every child logger's bindings. */
export const LOG_SERIALIZERS = {
  err: errorForLogs,
  sessionId: sessionIdForLogs,
};
