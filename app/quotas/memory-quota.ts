import type { MemoryQuota, MemoryScope } from '../store/types.js';
import { QuotaExceededError } from './quota-exceeded.js';

/** The refusal of a `remember` over quota, the same from the Redis script and the embedded store. */
export function memoryQuotaExceeded(
  over: 'keys' | 'bytes',
  quota: MemoryQuota,
  scope: MemoryScope,
  usage: number,
): QuotaExceededError {
  const holder = scope.kind === 'session' ? 'this session' : 'this caller';
  return over === 'keys'
    ? new QuotaExceededError(
        'QUOTA_MEMORY_KEYS',
        quota.maxKeys,
        `${holder} already stores ${usage} keys, the most allowed. Nothing was stored; overwrite an existing key instead.`,
      )
    : new QuotaExceededError(
        'QUOTA_MEMORY_BYTES',
        quota.maxBytes,
        `${holder} stores ${usage} bytes of keys and values, and this value would take it past ${quota.maxBytes}. Nothing was stored; store less, or shorten an existing value.`,
      );
}
