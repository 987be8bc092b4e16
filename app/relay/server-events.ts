import type { McpServer, ServerEvent } from '@modelcontextprotocol/server';

/**
 * Turns a bus event into the matching notification on one 2025-era or 2024 session. A kind the
 * server did not declare in its capabilities is skipped: the client never asked for it.
 * Returns false when skipped.
 */
export async function sendServerEvent(
  server: McpServer,
  event: ServerEvent,
  /**
   * Reads the session's resource subscriptions (kept in its shared record, since the client may
   * have subscribed through any node); without it no `resources/updated` is sent.
   */
  subscriptionsOf?: () => Promise<string[]>,
): Promise<boolean> {
  const capabilities = server.server.getCapabilities();
  switch (event.kind) {
    case 'tools_list_changed':
      if (!capabilities.tools?.listChanged) return false;
      await server.server.sendToolListChanged();
      return true;
    case 'prompts_list_changed':
      if (!capabilities.prompts?.listChanged) return false;
      await server.server.sendPromptListChanged();
      return true;
    case 'resources_list_changed':
      if (!capabilities.resources?.listChanged) return false;
      await server.server.sendResourceListChanged();
      return true;
    case 'resource_updated':
      // 2025-era clients receive updates only for the resources they subscribed to.
      if (!capabilities.resources?.subscribe || !subscriptionsOf) return false;
      if (!(await subscriptionsOf()).includes(event.uri)) return false;
      await server.server.sendResourceUpdated({ uri: event.uri });
      return true;
  }
}
