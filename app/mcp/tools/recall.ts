import { z } from 'zod';
import { defineTool, textResult } from './tool.js';

export const recall = defineTool({
  name: 'recall',
  title: 'Recall',
  description: 'Returns the value stored with remember under a key, from any node.',
  input: z.object({ key: z.string().min(1).max(256) }),
  annotations: { readOnlyHint: true },
  run: async ({ key }, ctx, env) => {
    const value = await env.memory.recall(env.memoryScope(ctx), key);
    return textResult(value ?? `Nothing is stored under ${key}.`, { key, value, found: value !== null });
  },
});
