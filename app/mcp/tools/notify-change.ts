import { z } from 'zod';
import { defineTool, errorResult, textResult } from './tool.js';

/**
 * Publishes a change notification to every connected client on every node: what a server whose
 * tools or resources change at runtime does. It goes through the ServerEventBus (Redis pub/sub in
 * a cluster) to 2026 `subscriptions/listen` streams, 2025-era GET streams and 2024 SSE streams.
 */
export const notifyChange = defineTool({
  name: 'notify_change',
  title: 'Notify change',
  description:
    'Tells every connected client, on every node, that the tool list or resource list changed, or that a resource was updated.',
  input: z.object({
    kind: z.enum(['tools_list_changed', 'resources_list_changed', 'resource_updated']),
    uri: z.string().url().max(2048).optional().describe('The updated resource (for resource_updated)'),
  }),
  annotations: { readOnlyHint: true, idempotentHint: true },
  run: async ({ kind, uri }, _ctx, env) => {
    if (kind === 'resource_updated') {
      if (uri === undefined) return errorResult('resource_updated needs the uri of the updated resource.');
      env.publish({ kind, uri });
    } else {
      env.publish({ kind });
    }
    return textResult(`Published ${kind}${uri ? ` for ${uri}` : ''} to every node.`, {
      kind,
      uri: uri ?? null,
    });
  },
});
