import { createHash } from 'node:crypto';
import { stdSerializers } from 'pino';

/**
 * What must never reach a log line in clear, and how it is kept out (app/logger.ts installs these
 * serializers and `censorSecrets`).
 */

/** Property names whose values are secrets wherever they sit in a line: credentials, keys, URLs with passwords. */
export const SECRET_NAMES: ReadonlySet<string> = new Set([
  'authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'token',
  'accessToken',
  'password',
  'secret',
  'apiKeys',
  'adminApiKeys',
  'AUTH_API_KEYS',
  'AUTH_ADMIN_API_KEYS',
  'stateKey',
  'previousStateKey',
  'MCP_STATE_KEY',
  'MCP_STATE_KEY_PREVIOUS',
  'redisUrl',
  'REDIS_URL',
]);

export const CENSORED = '[redacted]';

/** Deeper than any line this code logs; a deeper value is written as it is. */
const MAX_CENSOR_DEPTH = 6;

/**
 * A log line's fields with the value of every property named in SECRET_NAMES replaced, at the top
 * level or nested in objects and arrays, whatever keys lead to it. It copies only the objects it
 * changes, so the caller's objects stay as they were, and a line with nothing to censor costs one
 * walk over its fields. An error under `err` is left to `errorForLogs`, which censors its copy.
 * Objects that serialize themselves (`toJSON`: dates, URLs, buffers) are written as they are.
 *
 * Why not pino's `redact`: it takes paths, and a path that starts with `*` (a secret under any key)
 * is applied to every top-level field of every line. With the paths this covers, logging a call's
 * two lines took 52 µs against 12 µs without them (Node 24, bench/README.md "What was fixed", item
 * 7), about 6 % of a node's busy time; this walk takes about what the lines take without it.
 */
export function censorSecrets(fields: Record<string, unknown>): Record<string, unknown> {
  return censorValue(fields, 0) as Record<string, unknown>;
}

function censorValue(value: unknown, depth: number): unknown {
  if (typeof value !== 'object' || value === null || depth > MAX_CENSOR_DEPTH) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item, index) => {
      const censored = censorValue(item, depth + 1);
      if (censored === item) return;
      copy ??= [...value];
      copy[index] = censored;
    });
    return copy ?? value;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value;
  let copy: Record<string, unknown> | undefined;
  for (const [key, field] of Object.entries(value)) {
    const censored = SECRET_NAMES.has(key)
      ? CENSORED
      : depth === 0 && key === 'err' && field instanceof Error
        ? field // errorForLogs censors its copy; a plain copy here would lose the stack
        : censorValue(field, depth + 1);
    if (censored === field) continue;
    // A copy of the own enumerable properties is what JSON.stringify writes of any object.
    copy ??= { ...value };
    copy[key] = censored;
  }
  return copy ?? value;
}

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
 * payloads and with secrets censored (SECRET_NAMES), at any depth: errors nested in properties (ioredis `previousErrors`) too. It builds
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
    if (SECRET_NAMES.has(key)) copy[key] = CENSORED;
    else if (!ERROR_PAYLOAD_KEYS.has(key)) copy[key] = withoutPayload(field, depth + 1);
  }
  return copy;
}

/** pino `serializers`: they apply to these keys in every line and in every child logger's bindings. */
export const LOG_SERIALIZERS = {
  err: errorForLogs,
  sessionId: sessionIdForLogs,
};
