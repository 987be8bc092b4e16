import { readFileSync } from 'node:fs';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { memoryQuotaExceeded } from '../quotas/memory-quota.js';
import { type CommandHealth, keepProbing } from './command-health.js';
import type { Keys } from './keys.js';
import type { RedisClient } from './redis-connection.js';
import { isOutage, storeError } from './redis-errors.js';
import {
  type FleetStore,
  MAX_SUBSCRIPTIONS_PER_SESSION,
  type MemoryQuota,
  type MemoryScope,
  type MemoryStore,
  PRINCIPAL_MEMORY_TTL_SECONDS,
  type SessionRecord,
  type SessionStore,
  TooManySubscriptionsError,
} from './types.js';

/** Lua scripts live in ./lua, named verb-KEYCOUNT.lua, and are loaded once per connection. */
const SCRIPTS = {
  touchSession: 'touch-session-2.lua',
  createSession: 'create-session-1.lua',
  updateSession: 'update-session-1.lua',
  remember: 'remember-2.lua',
  subscribeSession: 'subscribe-session-1.lua',
} as const;

export type ScriptCall = (...args: (string | number)[]) => Promise<unknown>;

/** Loads scripts from ./lua (named verb-KEYCOUNT.lua) as ioredis commands; used by every Redis-backed store. */
export function defineScripts<Name extends string>(
  redis: RedisClient,
  scripts: Record<Name, string>,
): Record<Name, ScriptCall> {
  const calls = {} as Record<Name, ScriptCall>;
  for (const [name, file] of Object.entries(scripts) as [Name, string][]) {
    const numberOfKeys = Number(/-(\d+)\.lua$/.exec(file)?.[1]);
    const lua = readFileSync(new URL(`./lua/${file}`, import.meta.url), 'utf8');
    redis.defineCommand(name, { numberOfKeys, lua });
    calls[name] = (...args) => (redis as unknown as Record<Name, ScriptCall>)[name](...args);
  }
  return calls;
}

export function createRedisStore(deps: {
  redis: RedisClient;
  keys: Keys;
  sessionTtlSeconds: number;
  /** QUOTA_MEMORY_KEYS and QUOTA_MEMORY_BYTES, enforced by the scripts that store values. */
  memoryQuota: MemoryQuota;
  metrics: Metrics;
  /** The outcomes of this connection's commands: readiness follows them (see command-health.ts). */
  health: CommandHealth;
  /** A key that never exists, for the idle probe (see `probe` below). */
  probeKey: string;
  logger: Logger;
  onClose?: () => Promise<void>;
}): FleetStore {
  const { redis, keys, sessionTtlSeconds, memoryQuota, metrics, health } = deps;
  const scripts = defineScripts(redis, SCRIPTS);

  // Every Redis error leaves here as a StoreUnavailableError (503 with Retry-After at the edge).
  async function timed<T>(operation: string, run: () => Promise<T>): Promise<T> {
    const end = metrics.storeCommandDuration.startTimer({ operation });
    try {
      const result = await run();
      end({ outcome: 'ok' });
      health.record('ok');
      return result;
    } catch (err) {
      end({ outcome: 'error' });
      const failure = storeError(operation, err);
      if (isOutage(failure.failure)) health.record('failed');
      // A wrong key type or a failing script is a bug that retrying will not fix: say so loudly.
      else deps.logger.error({ err: failure.cause, operation }, 'redis rejected a command');
      throw failure;
    }
  }

  // The idle probe is a write that changes nothing (PEXPIRE of a key that never exists): a PING is
  // answered by a replica too, so only a write tells a demoted primary (READONLY) from the primary.
  const stopProbing = keepProbing(
    health,
    () => timed('probe', () => redis.pexpire(deps.probeKey, 1)),
    () => redis.status === 'ready',
  );

  const sessions: SessionStore = {
    create: (record) =>
      timed('session.create', async () => {
        await scripts.createSession(keys.session(record.id), sessionTtlSeconds, ...encodeRecord(record));
      }),
    touch: (id, principal, options) =>
      timed('session.touch', async () => {
        const status = (await scripts.touchSession(
          keys.session(id),
          keys.sessionMemory(id),
          sessionTtlSeconds,
          options?.withRecord ? '1' : '0',
          ...(principal === undefined ? [] : [principal]),
        )) as string[] | null;
        if (status === null) return null;
        const [owner = '', loggingLevel = '', ...recordFields] = status;
        const record = recordFields.length > 0 ? decodeRecord(id, fieldsOf(recordFields)) : undefined;
        return {
          principal: owner,
          ...(loggingLevel === '' ? {} : { loggingLevel }),
          ...(record ? { record } : {}),
        };
      }),
    get: (id) =>
      timed('session.get', async () => {
        const fields = await redis.hgetall(keys.session(id));
        return fields.principal === undefined ? null : decodeRecord(id, fields);
      }),
    setLoggingLevel: (id, level) =>
      timed('session.update', async () => {
        await scripts.updateSession(keys.session(id), 'loggingLevel', level);
      }),
    setSubscription: async (id, uri, subscribed) => {
      const outcome = await timed('session.subscribe', () =>
        scripts.subscribeSession(
          keys.session(id),
          subscribed ? 'add' : 'remove',
          uri,
          MAX_SUBSCRIPTIONS_PER_SESSION,
        ),
      );
      if (outcome === -1) throw new TooManySubscriptionsError();
      return outcome === 1;
    },
    subscriptionsOf: (id) =>
      timed('session.subscriptions', async () =>
        parseSubscriptions(await redis.hget(keys.session(id), 'subscriptions')),
      ),
    remove: (id) =>
      timed(
        'session.remove',
        async () => (await redis.del(keys.session(id), keys.sessionMemory(id), keys.sessionEvents(id))) > 0,
      ),
  };

  const memory: MemoryStore = {
    remember: async (scope, key, value) => {
      if (key === '') throw new RangeError('a memory key cannot be empty'); // the script's usage field
      const [outcome, usage] = await timed('memory.remember', async () => {
        const quota = [memoryQuota.maxKeys, memoryQuota.maxBytes];
        const hash = memoryKey(keys, scope);
        // A session's memory lives as long as its session; a principal's slides on its own TTL.
        const [owner, ownTtlSeconds] =
          scope.kind === 'session'
            ? [keys.session(scope.sessionId), 0]
            : [hash, PRINCIPAL_MEMORY_TTL_SECONDS];
        return (await scripts.remember(hash, owner, key, value, ownTtlSeconds, ...quota)) as [number, number];
      });
      if (outcome === -1) throw memoryQuotaExceeded('keys', memoryQuota, scope, usage);
      if (outcome === -2) throw memoryQuotaExceeded('bytes', memoryQuota, scope, usage);
      return outcome === 1;
    },
    recall: (scope, key) => timed('memory.recall', () => redis.hget(memoryKey(keys, scope), key)),
  };

  return {
    mode: 'redis',
    sessions,
    memory,
    isAvailable: () => redis.status === 'ready' && health.problem() === undefined,
    ping: () =>
      timed('ping', async () => {
        const started = performance.now();
        await redis.ping();
        return performance.now() - started;
      }),
    close: async () => {
      stopProbing();
      await deps.onClose?.();
    },
  };
}

function memoryKey(keys: Keys, scope: MemoryScope): string {
  return scope.kind === 'session'
    ? keys.sessionMemory(scope.sessionId)
    : keys.principalMemory(scope.principal);
}

function parseSubscriptions(raw: string | null | undefined): string[] {
  if (!raw) return [];
  const parsed: unknown = JSON.parse(raw);
  return Array.isArray(parsed) ? parsed.filter((uri): uri is string => typeof uri === 'string') : [];
}

function encodeRecord(record: SessionRecord): string[] {
  return [
    'initializeParams',
    JSON.stringify(record.initializeParams),
    'protocolVersion',
    record.protocolVersion,
    'principal',
    record.principal,
    'createdAt',
    String(record.createdAt),
  ];
}

/** A reply's flat `[field, value, …]` (HGETALL, a Stream entry) as an object. */
export function fieldsOf(flat: string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1] as string;
  return fields;
}

function decodeRecord(id: string, fields: Record<string, string>): SessionRecord {
  return {
    id,
    initializeParams: JSON.parse(fields.initializeParams ?? '{}') as Record<string, unknown>,
    protocolVersion: fields.protocolVersion ?? '',
    principal: fields.principal ?? '',
    subscriptions: parseSubscriptions(fields.subscriptions),
    createdAt: Number(fields.createdAt ?? 0),
    ...(fields.loggingLevel ? { loggingLevel: fields.loggingLevel } : {}),
  };
}
