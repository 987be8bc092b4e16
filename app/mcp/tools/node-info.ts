import { z } from 'zod';
import { principalOf } from '../principal.js';
import { defineTool, textResult } from './tool.js';

export const nodeInfo = defineTool({
  name: 'node_info',
  title: 'Node info',
  description:
    'Tells which node served this call, over which transport, in which MCP era, and for which caller.',
  input: z.object({}),
  annotations: { readOnlyHint: true },
  run: async (_args, ctx, env) => {
    const info = {
      nodeId: env.nodeId,
      era: env.era === 'modern' ? '2026-07-28' : '2025-era',
      protocolVersion: env.protocolVersion() ?? 'unknown',
      transport: env.transport,
      sessionId: ctx.sessionId ?? null,
      // Who the node believes is calling: the authenticated principal, or "anonymous".
      principal: principalOf(ctx.http?.authInfo),
    };
    return textResult(JSON.stringify(info), info);
  },
});
