import {
  type McpServer,
  ProtocolError,
  ProtocolErrorCode,
  ResourceTemplate,
} from '@modelcontextprotocol/server';
import { TooManySubscriptionsError } from '../../store/types.js';
import type { ToolEnv } from '../tools/tool.js';
import { WATCHED_RESOURCE_URI } from './change-tools.js';
import { RED_PIXEL_PNG_BASE64 } from './media.js';

/** The `test://` resources the suite reads, lists and subscribes to. */
export function registerFixtureResources(server: McpServer, env: ToolEnv): void {
  server.registerResource(
    'Static Text Resource',
    'test://static-text',
    { description: 'A static text resource for testing', mimeType: 'text/plain' },
    (uri) => ({
      contents: [
        { uri: uri.href, mimeType: 'text/plain', text: 'This is the content of the static text resource.' },
      ],
    }),
  );
  server.registerResource(
    'Static Binary Resource',
    'test://static-binary',
    { description: 'A static binary resource (image) for testing', mimeType: 'image/png' },
    (uri) => ({ contents: [{ uri: uri.href, mimeType: 'image/png', blob: RED_PIXEL_PNG_BASE64 }] }),
  );
  server.registerResource(
    'Resource Template',
    new ResourceTemplate('test://template/{id}/data', { list: undefined }),
    { description: 'A resource template with parameter substitution', mimeType: 'application/json' },
    (uri, variables) => {
      const id = String(variables.id);
      return {
        contents: [
          {
            uri: uri.href,
            mimeType: 'application/json',
            text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }),
          },
        ],
      };
    },
  );
  server.registerResource(
    'Watched Resource',
    WATCHED_RESOURCE_URI,
    { description: 'A resource that can be subscribed to', mimeType: 'text/plain' },
    (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'Watched resource content' }] }),
  );
  // 2026-07-28 removed resources/subscribe (updates ride `subscriptions/listen`, handled by the
  // SDK's router on the bus); only 2025-era sessions get the methods.
  if (env.era === 'legacy') registerSubscriptions(server, env);
}

/**
 * 2025-era subscriptions to the fixture resources, kept in the session record so that whichever
 * node holds the session's GET stream delivers `resources/updated` for them.
 */
function registerSubscriptions(server: McpServer, env: ToolEnv): void {
  const subscription = async (uri: string, sessionId: string | undefined, subscribed: boolean) => {
    if (!uri.startsWith('test://')) {
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Resource not found: ${uri}`, { uri });
    }
    if (sessionId === undefined) return {};
    try {
      if (!(await env.setSubscription(sessionId, uri, subscribed))) {
        throw new ProtocolError(ProtocolErrorCode.InvalidRequest, 'Session not found');
      }
    } catch (err) {
      if (err instanceof TooManySubscriptionsError) {
        throw new ProtocolError(ProtocolErrorCode.InvalidParams, err.message);
      }
      throw err;
    }
    return {};
  };
  server.server.setRequestHandler('resources/subscribe', (request, ctx) =>
    subscription(request.params.uri, ctx.sessionId, true),
  );
  server.server.setRequestHandler('resources/unsubscribe', (request, ctx) =>
    subscription(request.params.uri, ctx.sessionId, false),
  );
}
