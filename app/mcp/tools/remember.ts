import { z } from 'zod';
import { QuotaExceededError } from '../../quotas/quota-exceeded.js';
import { defineTool, errorResult, textResult } from './tool.js';

export const remember = defineTool({
  name: 'remember',
  title: 'Remember',
  description:
    'Stores a value under a key in the shared store: per session for 2025-era clients, per caller for 2026 clients. Any node can recall it. Each session or caller may store at most QUOTA_MEMORY_KEYS keys and QUOTA_MEMORY_BYTES bytes.',
  input: z.object({
    key: z.string().min(1).max(256),
    value: z.string().max(64 * 1024),
  }),
  annotations: { idempotentHint: true },
  run: async ({ key, value }, ctx, env) => {
    let stored: boolean;
    try {
      stored = await env.memory.remember(env.memoryScope(ctx), key, value);
    } catch (err) {
      // A tool error the caller (and its model) can read: which limit, how large, what to do.
      if (err instanceof QuotaExceededError)
        return { ...errorResult(err.message), structuredContent: err.data };
      throw err;
    }
    if (!stored) return errorResult('The session has ended; nothing was stored.');
    return textResult(`Remembered ${key}.`);
  },
});
