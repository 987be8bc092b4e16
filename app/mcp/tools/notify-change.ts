import { z } from 'zod';
import { defineTool, errorResult, textResult } from './tool.js';

/**
 * Publishes a change notification to every connected client on every node: what a server whose
 * tools or resources change at runtime does. It goes through the shared event log (a Redis Stream in
 * a cluster: app/bus/event-log.ts) to 2026 `subscriptions/listen` streams, 2025-era GET streams and 2024 SSE streams.
 *
 * It reaches every principal's clients, so only administrators may call it (app/auth/admin.ts).
 * The check is here rather than an SDK scope challenge because that runs on the 2025 and 2026
 * transports only, and because API keys have no scopes to challenge for.
 */
export const notifyChange = defineTool({
  name: 'notify_change',
  title: 'Notify change',
  description:
    'Tells every connected client, on every node, that the tool list or resource list changed, or that a resource was updated. Administrators only.',
  input: z.object({
    kind: z.enum(['tools_list_changed', 'resources_list_changed', 'resource_updated']),
    uri: z.string().url().max(2048).optional().describe('The updated resource (for resource_updated)'),
  }),
  // It changes what every client is told; it deletes nothing; each call sends another notification.
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  run: async ({ kind, uri }, ctx, env) => {
    if (!env.admin.allows(ctx.http?.authInfo)) {
      return errorResult(
        `Forbidden: notify_change reaches every client of every caller, so it is for administrators only. It needs ${env.admin.requirement}. Nothing was published.`,
      );
    }
    if (kind === 'resource_updated' && uri === undefined)
      return errorResult('resource_updated needs the uri of the updated resource.');
    try {
      await env.publish(kind === 'resource_updated' ? { kind, uri: uri as string } : { kind });
    } catch {
      // The event log refused or could not be reached (a Redis failover, an outage): say so, and
      // never pass Redis's own text on to the caller.
      return errorResult(
        'Could not publish the change: the event log is unavailable. Nothing was published; retry.',
      );
    }
    return textResult(`Published ${kind}${uri ? ` for ${uri}` : ''} to every node.`, {
      kind,
      uri: uri ?? null,
    });
  },
});
