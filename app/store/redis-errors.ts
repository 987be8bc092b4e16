import { type StoreFailure, StoreUnavailableError } from '../errors.js';

/** The replies of a server that is not the primary (yet): a failover is under way. */
const FAILOVER_REPLIES = new Set(['READONLY', 'LOADING', 'MASTERDOWN']);
/**
 * The key's slot is served by another shard: the cluster client follows these itself, so one that
 * surfaces means the slots kept moving (a resharding, a shard's failover), or a standalone client
 * was pointed at a cluster (REDIS_CLUSTER unset).
 */
const SLOT_REPLIES = new Set(['MOVED', 'ASK']);
/** The replies of a primary that refuses work for now (a cluster with a shard down, a slot migrating). */
const BUSY_REPLIES = new Set(['OOM', 'BUSY', 'TRYAGAIN', 'CLUSTERDOWN']);

/** A Redis reply error starts with its code (`READONLY You can't write against a read only replica.`). */
function replyCode(err: unknown): string | undefined {
  if (!(err instanceof Error) || err.name !== 'ReplyError') return undefined;
  return /^[A-Z]+/.exec(err.message)?.[0] ?? '';
}

/**
 * The one place a Redis error is classified, for every Redis-backed store. Anything that is not a
 * reply error (connection refused or reset, command or socket timeout, no offline queue) means Redis
 * is unreachable.
 */
export function classifyRedisError(err: unknown): StoreFailure {
  const code = replyCode(err);
  if (code === undefined) return 'unreachable';
  if (FAILOVER_REPLIES.has(code)) return 'failover';
  if (BUSY_REPLIES.has(code)) return 'busy';
  if (SLOT_REPLIES.has(code)) return 'misrouted';
  return 'rejected';
}

/** `READONLY`, `LOADING`, `MASTERDOWN`: the connection must move (see reconnectOnError in redis-connection.ts). */
export function isFailoverReply(err: unknown): boolean {
  return classifyRedisError(err) === 'failover';
}

/** Every failure but a rejected command means Redis cannot serve this node now (readiness counts these). */
export function isOutage(failure: StoreFailure): boolean {
  return failure !== 'rejected';
}

/** Wraps any error of a Redis command for the HTTP edge, which answers it 503 with Retry-After. */
export function storeError(operation: string, err: unknown): StoreUnavailableError {
  if (err instanceof StoreUnavailableError) return err;
  return new StoreUnavailableError(operation, err, classifyRedisError(err));
}
