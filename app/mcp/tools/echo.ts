import { z } from 'zod';
import { defineTool, textResult } from './tool.js';

export const echo = defineTool({
  name: 'echo',
  title: 'Echo',
  description: 'Returns the text it is given.',
  input: z.object({ text: z.string().max(100_000).describe('The text to echo back') }),
  annotations: { readOnlyHint: true, idempotentHint: true },
  run: async ({ text }) => textResult(text),
});
