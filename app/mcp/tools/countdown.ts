import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { defineTool, textResult } from './tool.js';

export const countdown = defineTool({
  name: 'countdown',
  title: 'Countdown',
  description:
    'Counts down the given number of seconds, sending a progress notification each second, then returns. Shows streaming and drain behaviour.',
  input: z.object({ seconds: z.number().int().min(1).max(120) }),
  annotations: { readOnlyHint: true },
  run: async ({ seconds }, ctx) => {
    const progressToken = ctx.mcpReq._meta?.progressToken;
    for (let elapsed = 1; elapsed <= seconds; elapsed++) {
      await sleep(1000, undefined, { signal: ctx.mcpReq.signal });
      if (progressToken !== undefined) {
        await ctx.mcpReq.notify({
          method: 'notifications/progress',
          params: {
            progressToken,
            progress: elapsed,
            total: seconds,
            message: `${seconds - elapsed} s left`,
          },
        });
      }
    }
    return textResult(`Counted down ${seconds} s.`);
  },
});
