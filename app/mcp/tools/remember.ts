import { z } from 'zod';
import { defineTool, errorResult, textResult } from './tool.js';

export const remember = defineTool({
  name: 'remember',
  title: 'Remember',
  description:
    'Stores a value under a key in the shared store: per session for 2025-era clients, per caller for 2026 clients. Any node can recall it.',
  input: z.object({
    key: z.string().min(1).max(256),
    value: z.string().max(64 * 1024),
  }),
  annotations: { idempotentHint: true },
  run: async ({ key, value }, ctx, env) => {
    const stored = await env.memory.remember(env.memoryScope(ctx), key, value);
    if (!stored) return errorResult('The session has ended; nothing was stored.');
    return textResult(`Remembered ${key}.`);
  },
});
